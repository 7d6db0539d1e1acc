//! Bodhi (bodhi-messages schemas): update requests, comments, pushes, ejections, karma and
//! testing milestones, buildroot overrides, composes and errata. Summaries, users, packages
//! and links follow the schema classes, including their truncated list of builds.

use crate::message::{severity, Message};
use crate::sources::fields::{arr_at, at, str_at, text_at};
use crate::sources::{fedmsg, link, View};
use serde_json::Value;

const BODHI: &str = "https://bodhi.fedoraproject.org";

/// The topic of a bodhi-messages schema entry point (`bodhi.update.edit.v2` →
/// `bodhi.update.edit`).
pub(crate) fn topic_for_schema(schema: &str) -> Option<String> {
    if !schema.starts_with("bodhi.") {
        return None;
    }
    let (base, version) = schema.rsplit_once('.')?;
    if !version.starts_with('v') || !version[1..].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match base {
        "bodhi.update.karma.threshold" => "bodhi.update.karma.threshold.reach".to_owned(),
        "bodhi.update.status.testing" => {
            "bodhi.update.status.testing.koji-build-group.build.complete".to_owned()
        }
        other => other.to_owned(),
    })
}

/// The schema's `truncate`: 40 characters and an ellipsis once the text reaches 40.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None if s.chars().count() == 40 => format!("{s}…"),
        None => s.to_owned(),
    }
}

/// The schema's `BuildV1.package`: the NVR without its last two dash-separated parts.
fn package_of(nvr: &str) -> &str {
    let mut parts = nvr.rsplitn(3, '-');
    let (_, _, name) = (parts.next(), parts.next(), parts.next());
    name.unwrap_or(nvr)
}

/// An update as the schema reads it; `None` when the body does not have the shape.
struct Update<'a> {
    alias: Option<&'a str>,
    builds: Vec<&'a str>,
    owner: Option<&'a str>,
    status: Option<&'a str>,
    valid: bool,
}

fn update(u: &Value) -> Update<'_> {
    let builds_arr = arr_at(u, &["builds"]);
    let builds: Vec<&str> = builds_arr
        .unwrap_or_default()
        .iter()
        .filter_map(|b| str_at(b, &["nvr"]))
        .collect();
    let owner = str_at(u, &["user", "name"]);
    let alias = str_at(u, &["alias"]);
    let valid =
        alias.is_some() && owner.is_some() && builds_arr.is_some_and(|a| a.len() == builds.len());
    Update {
        alias,
        builds,
        owner,
        status: str_at(u, &["status"]),
        valid,
    }
}

impl Update<'_> {
    fn builds_summary(&self) -> String {
        truncate(&self.builds.join(" "))
    }

    fn owner(&self) -> &str {
        self.owner.unwrap_or("someone")
    }

    /// "their" when the agent owns the update.
    fn owner_qual(&self, agent: Option<&str>) -> String {
        match (agent, self.owner) {
            (Some(a), Some(o)) if a == o => "their".to_owned(),
            _ => format!("{}'s", self.owner()),
        }
    }
}

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("bodhi", "bodhi", topic.to_owned());
    let default_severity = if topic.starts_with("bodhi.update.status.testing") {
        severity::DEBUG
    } else {
        severity::INFO
    };
    v.severity = fedmsg::severity(msg, default_severity);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("Bodhi {} (unreadable body)", topic.replace('.', " "));
        return v;
    };
    let mut valid = true;
    if topic.starts_with("bodhi.buildroot_override.") {
        valid = override_message(&mut v, body, topic);
    } else if topic.starts_with("bodhi.compose.") || topic == "bodhi.repo.done" {
        compose(&mut v, body, topic);
    } else if topic == "bodhi.update.comment" {
        let u = update(at(body, &["comment", "update"]).unwrap_or(&Value::Null));
        let user = str_at(body, &["comment", "user", "name"]);
        let karma = text_at(body, &["comment", "feedback"])
            .map(|f| format!("feedback: {f}"))
            .or_else(|| text_at(body, &["comment", "karma"]).map(|k| format!("karma: {k}")))
            .unwrap_or_else(|| "karma: 0".to_owned());
        v.summary = format!(
            "{} commented on update {} ({karma})",
            user.unwrap_or("someone"),
            u.builds_summary()
        );
        v.agent = user.map(str::to_owned);
        v.details
            .section("Comment", str_at(body, &["comment", "text"]).unwrap_or(""));
        valid = update_common(&mut v, body, &u);
    } else if topic == "bodhi.errata.publish" {
        let u = update(at(body, &["update"]).unwrap_or(&Value::Null));
        v.summary = str_at(body, &["subject"])
            .unwrap_or("Bodhi errata published")
            .to_owned();
        v.agent = u.owner.map(str::to_owned);
        v.details
            .section("Text", str_at(body, &["body"]).unwrap_or(""));
        valid = update_common(&mut v, body, &u);
    } else if topic.starts_with("bodhi.update.status.testing") && artifact_builds(body) {
        valid = ready_for_testing_v1(&mut v, body);
    } else if let Some(u) = at(body, &["update"]).filter(|u| u.is_object()).map(update) {
        let agent = str_at(body, &["agent"]);
        v.agent = agent.map(str::to_owned);
        v.summary = update_summary(topic, body, &u, agent);
        valid = update_common(&mut v, body, &u);
    } else {
        v.summary = format!(
            "Bodhi {}",
            topic.trim_start_matches("bodhi.").replace('.', " ")
        );
        v.agent = str_at(body, &["agent"]).map(str::to_owned);
        v.user(str_at(body, &["agent"]));
    }
    let trust = fedmsg::trust(msg);
    if !trust.attribute {
        v.withhold_attribution();
    }
    if !trust.link || !valid {
        v.url = None;
    }
    v
}

fn update_summary(topic: &str, body: &Value, u: &Update<'_>, agent: Option<&str>) -> String {
    let agent_s = agent.unwrap_or("someone");
    let alias = u.alias.unwrap_or("(unknown)");
    let b = u.builds_summary();
    let owner = u.owner();
    let status = u.status.unwrap_or("unknown");
    match topic.strip_prefix("bodhi.update.").unwrap_or(topic) {
        t if t.starts_with("request.") => {
            let req = t.trim_start_matches("request.");
            let qual = u.owner_qual(agent);
            match req {
                "unpush" | "obsolete" | "revoke" => {
                    let past = if req.ends_with('e') {
                        format!("{req}d")
                    } else {
                        format!("{req}ed")
                    };
                    format!("{agent_s} {past} {qual} update {alias} ({b})")
                }
                _ => format!("{agent_s} submitted {qual} update {alias} ({b}) to {req}"),
            }
        }
        "edit" => format!(
            "{agent_s} edited {} update {alias} ({b})",
            u.owner_qual(agent)
        ),
        t if t.starts_with("complete.") => {
            format!("{owner}'s {b} bodhi update completed push to {status}")
        }
        "eject" => format!(
            "{owner}'s {b} bodhi update was ejected from the {} mash. Reason: \"{}\"",
            str_at(body, &["repo"]).unwrap_or("unknown"),
            str_at(body, &["reason"]).unwrap_or("")
        ),
        "karma.threshold.reach" => format!(
            "{owner}'s {b} bodhi update has reached the {} karma threshold",
            str_at(body, &["status"]).unwrap_or("unknown")
        ),
        "requirements_met.stable" => {
            format!("{owner}'s {b} bodhi update has met stable testing requirements")
        }
        t if t.starts_with("status.testing") => {
            format!("{owner}'s {b} bodhi update is ready for testing")
        }
        other => format!(
            "{agent_s}: bodhi update {alias} {}",
            other.replace('.', " ")
        ),
    }
}

/// Users, packages, link and details every update message shares; whether the update had
/// the schema's shape.
fn update_common(v: &mut View, body: &Value, u: &Update<'_>) -> bool {
    v.user(v.agent.clone().as_deref());
    // `@name` mentions in a comment, as the schema's MENTION_RE finds them.
    if let Some(text) = str_at(body, &["comment", "text"]) {
        for m in mentions(text) {
            v.users.push(m.to_owned());
        }
    }
    v.user(u.owner);
    for b in &u.builds {
        v.package(Some(package_of(b)));
    }
    v.url = u
        .alias
        .map(|a| format!("{BODHI}/updates/{}", link::component(a)));
    v.details
        .opt("Update", u.alias)
        .opt("Owner", u.owner)
        .opt("Status", u.status)
        .opt("Request", str_at(body, &["update", "request"]))
        .opt("Release", str_at(body, &["update", "release", "name"]));
    if !u.builds.is_empty() {
        v.details.section("Builds", &u.builds.join("\n"));
    }
    u.valid
}

/// Whether the body is a first- or second-version "ready for testing" message, whose builds
/// (with their issuer and component) are in `artifact` rather than in `update`.
fn artifact_builds(body: &Value) -> bool {
    arr_at(body, &["artifact", "builds"])
        .is_some_and(|b| b.iter().any(|b| at(b, &["issuer"]).is_some()))
}

fn ready_for_testing_v1(v: &mut View, body: &Value) -> bool {
    let builds = arr_at(body, &["artifact", "builds"]).unwrap_or_default();
    let nvrs: Vec<&str> = builds.iter().filter_map(|b| str_at(b, &["nvr"])).collect();
    let owner =
        str_at(body, &["update", "user", "name"]).or_else(|| str_at(body, &["contact", "name"]));
    v.summary = format!(
        "{}'s {} bodhi update is ready for testing",
        owner.unwrap_or("someone"),
        truncate(&nvrs.join(" "))
    );
    let agent = str_at(body, &["agent"]);
    v.agent = agent.map(str::to_owned);
    v.user(agent);
    for b in builds {
        v.user(str_at(b, &["issuer"]));
        v.package(str_at(b, &["component"]));
    }
    let alias = str_at(body, &["artifact", "id"]);
    v.url = alias.map(|a| format!("{BODHI}/updates/{}", link::component(a)));
    v.details
        .opt("Update", alias)
        .opt("Release", str_at(body, &["artifact", "release"]))
        .opt("Repository", str_at(body, &["artifact", "repository"]))
        .opt("Contact", str_at(body, &["contact", "name"]));
    if !nvrs.is_empty() {
        v.details.section("Builds", &nvrs.join("\n"));
    }
    alias.is_some()
}

/// Words after an `@` that starts the text or follows whitespace (`(?<!\S)(@\w+)`).
fn mentions(text: &str) -> impl Iterator<Item = &str> {
    let mut prev_space = true;
    text.char_indices().filter_map(move |(i, c)| {
        let starts = c == '@' && prev_space;
        prev_space = c.is_whitespace();
        if !starts {
            return None;
        }
        let rest = &text[i + 1..];
        let end = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(j, _)| j);
        (end > 0).then(|| &rest[..end])
    })
}

fn override_message(v: &mut View, body: &Value, topic: &str) -> bool {
    let nvr = str_at(body, &["override", "nvr"]);
    let submitter = str_at(body, &["override", "submitter", "name"]);
    let verb = if topic.ends_with(".untag") {
        "expired"
    } else {
        "submitted"
    };
    v.summary = format!(
        "{} {verb} a buildroot override for {}",
        submitter.unwrap_or("someone"),
        nvr.unwrap_or("(unknown)")
    );
    v.user(submitter);
    v.agent = submitter.map(str::to_owned);
    v.package(nvr.map(package_of));
    v.url = nvr.map(|n| format!("{BODHI}/overrides/{}", link::component(n)));
    v.details
        .opt("Build", nvr)
        .opt("Submitter", submitter)
        .opt("Notes", str_at(body, &["override", "notes"]))
        .opt("Expires", str_at(body, &["override", "expiration_date"]));
    nvr.is_some() && submitter.is_some()
}

fn compose(v: &mut View, body: &Value, topic: &str) {
    let repo = str_at(body, &["repo"]).unwrap_or("a repository");
    v.summary = match topic {
        "bodhi.compose.start" => "bodhi composer started a push".to_owned(),
        "bodhi.compose.composing" => format!("bodhi composer started composing {repo}"),
        "bodhi.compose.complete" => match at(body, &["success"]).and_then(Value::as_bool) {
            Some(true) => format!("bodhi composer successfully composed {repo}"),
            _ => format!("bodhi composer failed to compose {repo}"),
        },
        "bodhi.compose.sync.wait" => {
            format!("bodhi composer is waiting for {repo} to hit the master mirror")
        }
        "bodhi.compose.sync.done" => {
            format!("bodhi composer finished waiting for {repo} to hit the master mirror")
        }
        "bodhi.repo.done" => format!("bodhi composer is finished building {repo}"),
        other => format!(
            "bodhi {}",
            other.trim_start_matches("bodhi.").replace('.', " ")
        ),
    };
    let agent = str_at(body, &["agent"]);
    v.user(agent);
    v.agent = agent.map(str::to_owned);
    v.details
        .opt("Repository", str_at(body, &["repo"]))
        .opt("Type", str_at(body, &["ctype"]))
        .opt("Success", text_at(body, &["success"]))
        .opt("Path", str_at(body, &["path"]))
        .opt("Agent", agent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_matches_the_schema() {
        assert_eq!(truncate("short"), "short");
        assert_eq!(truncate(&"x".repeat(40)), format!("{}…", "x".repeat(40)));
        assert_eq!(truncate(&"x".repeat(41)), format!("{}…", "x".repeat(40)));
    }

    #[test]
    fn packages_from_nvrs() {
        assert_eq!(
            package_of("abrt-addon-python3-2.1.11-50.el7"),
            "abrt-addon-python3"
        );
        assert_eq!(package_of("odd"), "odd");
    }

    #[test]
    fn mentions_follow_the_schema_regex() {
        let text = "Hi @codeblock.\nmail test@example.com (@paren) @a_b-c @";
        assert_eq!(mentions(text).collect::<Vec<_>>(), ["codeblock", "a_b"]);
    }

    #[test]
    fn schema_names_to_topics() {
        assert_eq!(
            topic_for_schema("bodhi.update.edit.v2").as_deref(),
            Some("bodhi.update.edit")
        );
        assert_eq!(
            topic_for_schema("bodhi.update.karma.threshold.v1").as_deref(),
            Some("bodhi.update.karma.threshold.reach")
        );
        assert_eq!(topic_for_schema("bodhi.update.edit"), None);
        assert_eq!(topic_for_schema("copr.build.end"), None);
    }
}
