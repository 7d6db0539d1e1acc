//! Koschei (koschei-messages): continuous rebuilds of Fedora packages against their current
//! dependencies. A package's state changes (its builds start to fail, its dependencies stop
//! resolving, it is fixed) or a collection's buildroot breaks or is fixed. Summaries, the
//! package and the link follow the schema classes; Koschei names no users, only the
//! package's groups, which Herald does not keep.

use crate::message::{severity, Message};
use crate::sources::fields::{str_at, strs_at};
use crate::sources::text::join;
use crate::sources::{fedmsg, link, View};

const KOSCHEI: &str = "https://koschei.fedoraproject.org";

/// The schema entry points are named after the topics.
pub(crate) fn topic_for_schema(schema: &str) -> Option<String> {
    matches!(
        schema,
        "koschei.package.state.change" | "koschei.collection.state.change"
    )
    .then(|| schema.to_owned())
}

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("koschei", "koschei", topic.to_owned());
    v.severity = fedmsg::severity(msg, severity::INFO);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("Koschei {} (unreadable body)", topic.replace('.', " "));
        return v;
    };
    let new = str_at(body, &["new"]);
    let old = str_at(body, &["old"]);
    let collection = str_at(body, &["collection"]);
    // Anything but the primary Koji hub is named after the summary.
    let instance = str_at(body, &["koji_instance"])
        .filter(|i| *i != "primary")
        .map(|i| format!(" ({i})"))
        .unwrap_or_default();
    if topic == "koschei.collection.state.change" {
        let name = str_at(body, &["collection_name"]).unwrap_or("None");
        let info = match (new, old) {
            (Some("ok"), Some("unknown")) => format!("{name} added to Koschei"),
            (Some("ok"), _) => format!("{name} buildroot was fixed"),
            (Some("unresolved"), _) => format!("{name} buildroot was broken"),
            (other, _) => format!("{name} buildroot is now {}", other.unwrap_or("unknown")),
        };
        v.summary = info + &instance;
        v.url = collection.map(|c| format!("{KOSCHEI}/collection/{}", link::component(c)));
    } else {
        let name = str_at(body, &["name"]);
        let n = name.unwrap_or("None");
        let info = match (new, old) {
            (Some("ok"), Some("ignored")) => format!("{n} added to Koschei"),
            (Some("failing"), _) => format!("{n}'s builds started to fail"),
            (Some("ok"), _) => format!("{n}'s builds are back to normal"),
            (Some("ignored"), _) => format!("{n} became retired or ignored"),
            (Some("unresolved"), _) => format!("{n}'s dependencies failed to resolve"),
            (other, _) => format!("{n}'s state is now {}", other.unwrap_or("unknown")),
        };
        v.summary = format!("{info} in {}{instance}", collection.unwrap_or("None"));
        v.package(name);
        v.url = match (name, collection) {
            (Some(p), Some(c)) => Some(format!(
                "{KOSCHEI}/package/{}?collection={}",
                link::component(p),
                link::component(c)
            )),
            _ => None,
        };
    }
    let groups: Vec<&str> = strs_at(body, &["groups"]).take(20).collect();
    v.details
        .opt("Package", str_at(body, &["name"]))
        .opt(
            "Collection",
            str_at(body, &["collection_name"]).or(collection),
        )
        .opt("State", new)
        .opt("Previous state", old)
        .opt("Koji instance", str_at(body, &["koji_instance"]))
        .opt("Groups", (!groups.is_empty()).then(|| join(groups, ", ")))
        .opt("Repository", str_at(body, &["repo_id"]));

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

    fn koschei(topic: &str, body: &Value) -> Rendered {
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
    fn summaries_follow_the_schema() {
        let cases = [
            ("ok", "ignored", "rust-tokio added to Koschei in f37"),
            (
                "failing",
                "ok",
                "rust-tokio's builds started to fail in f37",
            ),
            (
                "ok",
                "failing",
                "rust-tokio's builds are back to normal in f37",
            ),
            (
                "ignored",
                "failing",
                "rust-tokio became retired or ignored in f37",
            ),
            (
                "unresolved",
                "ok",
                "rust-tokio's dependencies failed to resolve in f37",
            ),
        ];
        for (new, old, want) in cases {
            let body = json!({"name": "rust-tokio", "new": new, "old": old, "collection": "f37",
                              "collection_name": "Fedora 37", "koji_instance": "primary",
                              "groups": ["rust-sig"]});
            let r = koschei("koschei.package.state.change", &body);
            assert_eq!(r.summary, want);
            assert_eq!(r.packages, ["rust-tokio"]);
            assert_eq!(
                r.url.as_deref(),
                Some("https://koschei.fedoraproject.org/package/rust-tokio?collection=f37")
            );
        }
        let body = json!({"new": "ok", "old": "unknown", "collection": "f37",
                          "collection_name": "Fedora 37", "koji_instance": "s390"});
        let r = koschei("koschei.collection.state.change", &body);
        assert_eq!(r.summary, "Fedora 37 added to Koschei (s390)");
    }

    #[test]
    fn hostile_values_stay_bounded() {
        let huge = "\n\u{200f}".repeat(30_000);
        let body = json!({"name": "../../x?y=1#z", "new": huge, "old": 3, "collection": "f44",
                          "collection_name": huge, "koji_instance": huge,
                          "groups": (0..20_000).map(|i| i.to_string()).collect::<Vec<_>>()});
        let r = koschei("koschei.package.state.change", &body);
        assert!(r.summary.chars().count() <= 301);
        assert!(!r.summary.contains('\u{200f}') && !r.summary.contains('\n'));
        assert!(r.details.len() <= 17 * 1024);
        let url = r.url.unwrap_or_default();
        assert_eq!(
            url,
            "https://koschei.fedoraproject.org/package/..%2F..%2Fx%3Fy%3D1%23z?collection=f44"
        );
        let r = koschei(
            "koschei.collection.state.change",
            &json!({"collection_name": null}),
        );
        assert_eq!(r.summary, "None buildroot is now unknown");
    }
}
