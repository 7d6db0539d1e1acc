//! dist-git pushes (fedora-messaging-git-hook-messages): one message per commit pushed to a
//! repository on src.fedoraproject.org. The summary, the pusher as user and agent, the
//! package (the repository, when it lives in the `rpms` namespace) and the link (the
//! commit's own `url`, which the hook builds from its configured template) follow the
//! schema class.

use crate::message::{severity, Message};
use crate::sources::fields::{at, str_at, text_at};
use crate::sources::{fedmsg, View};
use serde_json::Value;

/// The hook's one schema entry point.
pub(crate) fn topic_for_schema(schema: &str) -> Option<String> {
    (schema == "fedora_messaging_git_hook.commit.v1").then(|| "git.receive".to_owned())
}

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("dist-git", "dist-git", topic.to_owned());
    v.severity = fedmsg::severity(msg, severity::INFO);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("dist-git {} (unreadable body)", topic.replace('.', " "));
        return v;
    };
    let commit = at(body, &["commit"]).unwrap_or(&Value::Null);
    let agent = str_at(body, &["agent"]);
    let repo = str_at(commit, &["repo"]);
    let namespace = str_at(commit, &["namespace"]);
    let full_name = match (namespace, repo) {
        (Some(ns), Some(r)) => format!("{ns}/{r}"),
        (Some(ns), None) => format!("{ns}/None"),
        (None, r) => r.unwrap_or("None").to_owned(),
    };
    v.summary = format!(
        "{} pushed to {full_name} ({}). \"{}\"",
        agent.unwrap_or("None"),
        str_at(commit, &["branch"]).unwrap_or("None"),
        str_at(commit, &["summary"]).unwrap_or("")
    );
    v.agent = agent.map(str::to_owned);
    v.user(agent);
    if namespace == Some("rpms") {
        v.package(repo);
    }
    v.url = str_at(commit, &["url"]).map(str::to_owned);

    let author = match (str_at(commit, &["name"]), str_at(commit, &["email"])) {
        (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
        (n, e) => n.or(e).map(str::to_owned),
    };
    let stats = at(commit, &["stats", "total"]).unwrap_or(&Value::Null);
    let changed = match (
        text_at(stats, &["files"]),
        text_at(stats, &["additions"]),
        text_at(stats, &["deletions"]),
    ) {
        (Some(f), Some(a), Some(d)) => Some(format!("{f} files, +{a} −{d}")),
        _ => None,
    };
    v.details
        .field("Repository", &full_name)
        .opt("Branch", str_at(commit, &["branch"]))
        .opt("Commit", str_at(commit, &["rev"]))
        .opt("Author", author)
        .opt("Date", str_at(commit, &["date"]))
        .opt("Changes", changed)
        .opt("Pushed by", str_at(commit, &["username"]));
    if let Some(message) = str_at(commit, &["message"]) {
        v.details.section("Message", message);
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

#[cfg(test)]
mod tests {
    use crate::sources::tests::message;
    use crate::sources::{render, RenderContext, Rendered};
    use serde_json::{json, Value};

    fn push(body: &Value) -> Rendered {
        let headers = json!({"fedora_messaging_schema": "fedora_messaging_git_hook.commit.v1",
                             "fedora_messaging_severity": 20});
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let msg = message(
            "org.fedoraproject.prod.git.receive",
            "amq.topic",
            headers,
            &bytes,
        );
        render(&msg, &RenderContext::default())
    }

    #[test]
    fn only_rpms_are_packages() {
        let body = json!({"agent": "a", "commit": {"repo": "flatpak-x", "namespace": "flatpaks",
                                                   "branch": "stable", "summary": "s"}});
        let r = push(&body);
        assert_eq!(r.source, "dist-git");
        assert_eq!(r.summary, "a pushed to flatpaks/flatpak-x (stable). \"s\"");
        assert!(r.packages.is_empty());
        assert_eq!(r.users, ["a"]);
    }

    #[test]
    fn hostile_values_stay_bounded() {
        let huge = "\u{2066}x".repeat(30_000);
        let body = json!({"agent": 5, "commit": {"repo": huge, "namespace": "rpms",
                          "branch": ["b"], "summary": huge, "message": huge,
                          "url": "javascript:alert(1)", "stats": {"total": {"files": "x"}}}});
        let r = push(&body);
        assert!(r.summary.chars().count() <= 301);
        assert!(!r.summary.contains('\u{2066}'));
        assert!(r.details.len() <= 17 * 1024);
        assert_eq!(r.url, None);
        assert!(r.packages.is_empty(), "an over-long name is not a package");
        assert!(r.users.is_empty());
        let r = push(&json!({"commit": "not an object"}));
        assert_eq!(r.summary, "None pushed to None (None). \"\"");
    }
}
