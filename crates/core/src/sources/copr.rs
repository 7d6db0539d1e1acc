//! Copr (copr-messaging schemas): a build starting or ending in one chroot of a project.
//! Summaries follow the schema classes; the link to the build page is Herald's own (the
//! schemas have none). The schema names no packages, so the package built is shown in the
//! details only. Bodies wrapped in a fedmsg envelope (`{"msg": {…}}`) are unwrapped, as the
//! schema does.

use crate::message::{severity, Message};
use crate::sources::fields::{at, str_at, text, text_at};
use crate::sources::{fedmsg, link, View};
use serde_json::Value;

const COPR: &str = "https://copr.fedorainfracloud.org";

/// `copr_common.enums.StatusEnum`, by number.
pub(crate) fn status_name(n: i64) -> Option<&'static str> {
    Some(match n {
        0 => "failed",
        1 => "succeeded",
        2 => "canceled",
        3 => "running",
        4 => "pending",
        5 => "skipped",
        6 => "starting",
        7 => "importing",
        8 => "forked",
        9 => "waiting",
        1000 => "unknown",
        _ => return None,
    })
}

/// The schema entry points are the topics themselves.
pub(crate) fn topic_for_schema(schema: &str) -> Option<String> {
    matches!(
        schema,
        "copr.build.start" | "copr.build.end" | "copr.chroot.start"
    )
    .then(|| schema.to_owned())
}

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("copr", "copr", topic.to_owned());
    let default_severity = if topic == "copr.chroot.start" {
        severity::DEBUG
    } else {
        severity::INFO
    };
    v.severity = fedmsg::severity(msg, default_severity);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("Copr {} (unreadable body)", topic.replace('.', " "));
        return v;
    };
    let body = match at(body, &["msg"]) {
        Some(inner) if inner.is_object() => inner,
        _ => body,
    };
    let owner = str_at(body, &["owner"]);
    let project = str_at(body, &["copr"]);
    let build = text_at(body, &["build"]);
    let chroot = str_at(body, &["chroot"]);
    let full_name = format!("{}/{}", owner.unwrap_or("None"), project.unwrap_or("None"));
    let prefix = format!(
        "Copr Message in project \"{full_name}\": build {}",
        build.as_deref().unwrap_or("None")
    );
    let chroot_s = chroot.unwrap_or("None");
    let status = at(body, &["status"]).and_then(status_text);
    v.summary = match topic {
        "copr.build.end" => format!(
            "{prefix}: chroot \"{chroot_s}\" ended as \"{}\".",
            status.as_deref().unwrap_or("unknown")
        ),
        "copr.build.start" | "copr.chroot.start" => {
            format!("{prefix}: chroot \"{chroot_s}\" started.")
        }
        _ => "Unspecified Copr message".to_owned(),
    };

    // A namespaced submitter (`github.com:someone`) is not a Fedora account.
    let submitter = str_at(body, &["user"]).filter(|u| !u.contains(':'));
    for u in [submitter, owner].into_iter().flatten() {
        if !u.starts_with('@') {
            v.users.push(u.to_owned());
        }
    }
    if topic != "copr.build.end" {
        v.agent = submitter.map(str::to_owned);
    }
    v.url = build_link(owner, project, body.get("build"));

    let package = str_at(body, &["pkg"]);
    let version = str_at(body, &["version"]);
    v.details
        .field("Project", &full_name)
        .opt("Build", build.as_deref())
        .opt("Chroot", chroot)
        .opt(
            "Package",
            match (package, version) {
                (Some(p), Some(ver)) => Some(format!("{p}-{ver}")),
                (Some(p), None) => Some(p.to_owned()),
                _ => None,
            },
        )
        .opt("Status", status.as_deref())
        .opt("Submitter", str_at(body, &["user"]))
        .opt("Builder", str_at(body, &["who"]));

    let trust = fedmsg::trust(msg);
    if !trust.attribute {
        v.withhold_attribution();
    }
    if !trust.link {
        v.url = None;
    }
    v
}

fn status_text(v: &Value) -> Option<String> {
    match v.as_i64() {
        Some(n) => Some(status_name(n).map_or_else(|| format!("status {n}"), str::to_owned)),
        None => text(v).map(|s| s.into_owned()),
    }
}

/// `/coprs/<owner>/<project>/build/<id>/`, or `/coprs/g/<group>/…` for a group project.
fn build_link(owner: Option<&str>, project: Option<&str>, build: Option<&Value>) -> Option<String> {
    let id = build?.as_i64()?;
    let owner = owner?;
    let project = link::component(project?);
    let path = match owner.strip_prefix('@') {
        Some(group) => format!("/coprs/g/{}/{project}/build/{id}/", link::component(group)),
        None => format!("/coprs/{}/{project}/build/{id}/", link::component(owner)),
    };
    Some(format!("{COPR}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_for_users_and_groups() {
        assert_eq!(
            build_link(Some("kbaig"), Some("test"), Some(&json!(942697))).as_deref(),
            Some("https://copr.fedorainfracloud.org/coprs/kbaig/test/build/942697/")
        );
        assert_eq!(
            build_link(Some("@python"), Some("python3.8"), Some(&json!(945012))).as_deref(),
            Some("https://copr.fedorainfracloud.org/coprs/g/python/python3.8/build/945012/")
        );
        assert_eq!(build_link(Some("a"), Some("b"), Some(&json!("1"))), None);
        assert_eq!(
            build_link(Some("../x"), Some("b"), Some(&json!(1))).as_deref(),
            Some("https://copr.fedorainfracloud.org/coprs/..%2Fx/b/build/1/")
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(status_text(&json!(0)).as_deref(), Some("failed"));
        assert_eq!(status_text(&json!(42)).as_deref(), Some("status 42"));
    }
}
