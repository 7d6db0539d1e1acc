//! Koji's old `messagebus` hub plugin (qpid, removed from Koji in 2018 but still found on
//! long-lived brokers such as Brew's): the raw callback arguments of every `post*` hub
//! callback, published either to a topic exchange under `koji.event.<Callback>.<tokens>` or
//! to a headers exchange with a `type` header and no routing key.
//!
//! The rendering of those callback arguments is shared with the `protonmsg` plugin, which
//! sends the same arguments; the rules are Herald's own (the plugins have no schema) and
//! mirror the fedora-messaging summaries. Messages carry no server address, so links use the
//! connection's configured Koji web base, and there is no link without one.

use crate::message::{severity, Message};
use crate::sources::fields::{at, header_str, header_text, int_at, str_at, strs_at, text_at};
use crate::sources::koji::{build_state, nvr, page, page_by_name, task_state, task_tree};
use crate::sources::link::Base;
use crate::sources::{RenderContext, View};
use serde_json::Value;
use std::borrow::Cow;

/// The hub callbacks (without `post`) both plugins publish.
pub(crate) const CALLBACKS: [&str; 11] = [
    "BuildStateChange",
    "TaskStateChange",
    "Tag",
    "Untag",
    "PackageListChange",
    "Import",
    "RPMSign",
    "RepoInit",
    "RepoDone",
    "BuildPromote",
    "SCMCheckout",
];

/// The plugin's default topic prefix and exchange.
const DEFAULT_PREFIX: &str = "koji.event.";
const DEFAULT_EXCHANGE: &str = "koji.events";

pub(crate) fn render(msg: &Message, ctx: &RenderContext) -> Option<View> {
    let callback = callback(msg)?;
    let empty = Value::Null;
    let body = msg.json.as_ref().unwrap_or(&empty);
    Some(render_callback(msg, "koji-messagebus", callback, body, ctx))
}

/// The callback a messagebus message reports, when the envelope has the plugin's shape.
fn callback(msg: &Message) -> Option<&'static str> {
    if msg.topic.is_empty() {
        // Headers mode: the `type` header is all there is to route on.
        let t = header_str(msg, "type")?;
        return CALLBACKS.iter().copied().find(|c| *c == t);
    }
    // Topic mode: `<prefix>.<Callback>.<tokens>`; the prefix is configurable, so the
    // default exchange or qpid's copy of the subject vouches for a non-default one.
    let vouched = msg.topic.starts_with(DEFAULT_PREFIX)
        || msg.exchange == DEFAULT_EXCHANGE
        || header_str(msg, "qpid.subject").is_some_and(|s| s == msg.topic);
    if !vouched {
        return None;
    }
    let after = msg.topic.strip_prefix(DEFAULT_PREFIX).unwrap_or(&msg.topic);
    after
        .split('.')
        .find_map(|token| CALLBACKS.iter().copied().find(|c| *c == token))
}

/// Renders one hub callback's arguments; header values (headers mode, protonmsg) fill in
/// what the body lacks.
pub(crate) fn render_callback(
    msg: &Message,
    source: &'static str,
    callback: &str,
    body: &Value,
    ctx: &RenderContext,
) -> View {
    let mut v = View::new(source, "koji", format!("koji.{callback}"));
    let web = ctx.koji_web_base.as_deref().and_then(Base::new);
    let web = web.as_ref();
    let h = |key: &str| header_text(msg, key).map(Cow::into_owned);
    v.severity = match callback {
        "BuildStateChange" => build_state_change(&mut v, body, &h, web),
        "TaskStateChange" => task_state_change(&mut v, body, &h, web),
        "Tag" => tag(&mut v, body, &h, web, "tagged into"),
        "Untag" => tag(&mut v, body, &h, web, "untagged from"),
        "PackageListChange" => package_list_change(&mut v, body, &h, web),
        "RepoInit" | "RepoDone" => repo(&mut v, body, &h, web, callback == "RepoDone"),
        "Import" => import(&mut v, body, &h, web),
        "RPMSign" => sign(&mut v, body, &h, web),
        "BuildPromote" => promote(&mut v, body, &h, web),
        other => {
            v.summary = format!("Koji {other} event");
            severity::DEBUG
        }
    };
    if msg.json.is_none() && body.is_null() {
        v.details.field("Body", "not readable");
    }
    v
}

/// Header lookup by name, as display text.
type Headers<'h> = dyn Fn(&str) -> Option<String> + 'h;

/// A body string, or the header of the same meaning.
fn s<'a>(body: &'a Value, path: &[&str], h: &Headers<'_>, key: &str) -> Option<Cow<'a, str>> {
    str_at(body, path)
        .map(Cow::Borrowed)
        .or_else(|| h(key).map(Cow::Owned))
}

/// The build a callback concerns: its dict in the body, else the headers.
struct Build<'a> {
    id: Option<i64>,
    name: Option<Cow<'a, str>>,
    nvr: Option<String>,
    owner: Option<&'a str>,
}

fn build_of<'a>(b: &'a Value, h: &Headers<'_>) -> Build<'a> {
    let name = str_at(b, &["name"])
        .or_else(|| str_at(b, &["package_name"]))
        .map(Cow::Borrowed)
        .or_else(|| h("name").map(Cow::Owned));
    let version = s(b, &["version"], h, "version");
    let release = s(b, &["release"], h, "release");
    let nvr = str_at(b, &["nvr"])
        .map(str::to_owned)
        .or_else(|| nvr(name.as_deref(), version.as_deref(), release.as_deref()));
    Build {
        id: int_at(b, &["id"]).or_else(|| int_at(b, &["build_id"])),
        name,
        nvr,
        owner: str_at(b, &["owner_name"]),
    }
}

impl Build<'_> {
    fn shown(&self) -> String {
        match (&self.nvr, self.id) {
            (Some(n), _) => n.clone(),
            (None, Some(id)) => format!("build {id}"),
            (None, None) => "unknown build".to_owned(),
        }
    }

    fn attribute(&self, v: &mut View) {
        v.user(self.owner);
        v.package(self.name.as_deref());
    }
}

fn build_state_change(v: &mut View, body: &Value, h: &Headers<'_>, web: Option<&Base>) -> u8 {
    let info = at(body, &["info"]).unwrap_or(&Value::Null);
    let b = build_of(info, h);
    let new = match at(body, &["new"]) {
        Some(n) if !n.is_null() => build_state(Some(n)),
        _ => build_state(h("new").map(Value::String).as_ref()),
    };
    v.summary = match b.owner {
        Some(o) => format!("Build {new}: {o}'s {}", b.shown()),
        None => format!("Build {new}: {}", b.shown()),
    };
    b.attribute(v);
    v.url = page(web, "buildinfo", "buildID", b.id);
    let old = at(body, &["old"])
        .filter(|o| !o.is_null())
        .map(|o| build_state(Some(o)));
    v.details
        .opt("Package", b.nvr.as_deref())
        .field(
            "Status",
            match old {
                Some(old) => format!("{old} → {new}"),
                None => new.clone(),
            },
        )
        .opt("Built by", b.owner)
        .opt("ID", b.id.map(|i| i.to_string()))
        .opt("Task", int_at(info, &["task_id"]).map(|i| i.to_string()))
        .opt(
            "Started",
            str_at(info, &["start_time"]).or_else(|| str_at(info, &["creation_time"])),
        )
        .opt("Finished", str_at(info, &["completion_time"]));
    severity::INFO
}

fn task_state_change(v: &mut View, body: &Value, h: &Headers<'_>, web: Option<&Base>) -> u8 {
    let info = at(body, &["info"]).unwrap_or(&Value::Null);
    let id = int_at(info, &["id"]).or_else(|| h("id").and_then(|s| s.parse().ok()));
    let method = s(info, &["method"], h, "method");
    let method = method.as_deref().unwrap_or("task");
    let attribute = s(body, &["attribute"], h, "attribute");
    let attribute = attribute.as_deref().unwrap_or("state");
    v.url = page(web, "taskinfo", "taskID", id);
    let id_text = id.map(|i| format!(" #{i}")).unwrap_or_default();
    let value = |key: &str| -> Option<Value> {
        match at(body, &[key]) {
            Some(x) if !x.is_null() => Some(x.clone()),
            _ => h(key).map(Value::String),
        }
    };
    let (old, new) = (value("old"), value("new"));
    let sev = if attribute == "state" {
        let new = task_state(new.as_ref());
        v.summary = format!("Task {new} -- {method}{id_text}");
        v.details.field(
            "State",
            match &old {
                Some(o) => format!("{} → {new}", task_state(Some(o))),
                None => new.clone(),
            },
        );
        severity::INFO
    } else {
        // Koji also reports host, weight and priority changes; worth a note, not an alert.
        let shown = |x: &Option<Value>| {
            x.as_ref()
                .and_then(crate::sources::fields::text)
                .map(Cow::into_owned)
        };
        v.summary = format!(
            "Task{id_text} -- {method}: {attribute} {} → {}",
            shown(&old).unwrap_or_else(|| "none".to_owned()),
            shown(&new).unwrap_or_else(|| "none".to_owned()),
        );
        severity::DEBUG
    };
    v.details
        .field("Task", format!("{method}{id_text}"))
        .opt("Arch", str_at(info, &["arch"]))
        .opt(
            "Parent",
            text_at(info, &["parent"])
                .map(Cow::into_owned)
                .or_else(|| h("parent")),
        )
        .opt("Label", str_at(info, &["label"]))
        .opt(
            "Request",
            info.get("request")
                .and_then(|r| r.get(0))
                .and_then(Value::as_str),
        );
    if let Some(result) = at(info, &["result"]) {
        let logs: Vec<&str> = strs_at(result, &["logs"]).take(12).collect();
        v.details.section("Logs", &logs.join("\n"));
    }
    if at(info, &["children"]).is_some() {
        task_tree(&mut v.details, info, web, None);
    }
    sev
}

/// A name that is either a dict with `name` (hub arguments) or a plain string.
fn named<'a>(body: &'a Value, key: &str, h: &Headers<'_>) -> Option<Cow<'a, str>> {
    str_at(body, &[key, "name"])
        .or_else(|| str_at(body, &[key]))
        .map(Cow::Borrowed)
        .or_else(|| h(key).map(Cow::Owned))
}

fn tag(v: &mut View, body: &Value, h: &Headers<'_>, web: Option<&Base>, verb: &str) -> u8 {
    let build = at(body, &["build"]).unwrap_or(&Value::Null);
    let b = build_of(build, h);
    let tag = named(body, "tag", h);
    let tag = tag.as_deref().unwrap_or("an unknown tag");
    let user = named(body, "user", h);
    v.summary = match &user {
        Some(u) => format!("{} {verb} {tag} by {u}", b.shown()),
        None => format!("{} {verb} {tag}", b.shown()),
    };
    v.user(user.as_deref());
    b.attribute(v);
    v.url = page(web, "buildinfo", "buildID", b.id)
        .or_else(|| page(web, "taginfo", "tagID", int_at(body, &["tag", "id"])));
    v.details
        .field("Build", b.shown())
        .field("Tag", tag)
        .opt("By", user.as_deref())
        .opt("Owner", b.owner)
        .opt("Forced", text_at(body, &["force"]));
    severity::DEBUG
}

fn package_list_change(v: &mut View, body: &Value, h: &Headers<'_>, web: Option<&Base>) -> u8 {
    let package = named(body, "package", h);
    let tag = named(body, "tag", h);
    let action = s(body, &["action"], h, "action");
    v.summary = format!(
        "{} {} in {}",
        package.as_deref().unwrap_or("a package"),
        action.as_deref().unwrap_or("changed"),
        tag.as_deref().unwrap_or("an unknown tag"),
    );
    v.package(package.as_deref());
    // Only newer protonmsg versions name the user; the hub arguments hold a numeric id.
    let user = h("user");
    v.user(user.as_deref());
    v.agent = user.as_deref().map(str::to_owned);
    v.url = page(
        web,
        "packageinfo",
        "packageID",
        int_at(body, &["package", "id"]),
    )
    .or_else(|| page_by_name(web, "packageinfo", "packageID", package.as_deref()));
    v.details
        .opt("Package", package.as_deref())
        .opt("Tag", tag.as_deref())
        .opt("Action", action.as_deref())
        .opt("Blocked", text_at(body, &["block"]))
        .opt("Extra arches", str_at(body, &["extra_arches"]));
    severity::DEBUG
}

fn repo(v: &mut View, body: &Value, h: &Headers<'_>, web: Option<&Base>, done: bool) -> u8 {
    let (tag, tag_id, repo_id) = if done {
        (
            str_at(body, &["repo", "tag_name"])
                .map(Cow::Borrowed)
                .or_else(|| h("tag").map(Cow::Owned)),
            int_at(body, &["repo", "tag_id"]),
            int_at(body, &["repo", "id"]),
        )
    } else {
        (
            named(body, "tag", h),
            int_at(body, &["tag", "id"]),
            int_at(body, &["repo_id"]),
        )
    };
    let repo_id = repo_id.or_else(|| h("repo_id").and_then(|s| s.parse().ok()));
    let tag = tag.as_deref().unwrap_or("unknown tag");
    let what = if done { "done" } else { "init" };
    v.summary = match repo_id {
        Some(id) => format!("Repo {what}: {tag} (#{id})"),
        None => format!("Repo {what}: {tag}"),
    };
    v.url = page(web, "taginfo", "tagID", tag_id)
        .or_else(|| page_by_name(web, "taginfo", "tagID", Some(tag)));
    let arches: Vec<&str> = body
        .get("data")
        .and_then(Value::as_object)
        .map(|d| d.keys().map(String::as_str).collect())
        .unwrap_or_default();
    v.details
        .field("Tag", tag)
        .opt("Repo", repo_id.map(|i| i.to_string()))
        .opt("Repo page", page(web, "repoinfo", "repoID", repo_id))
        .opt("Arches", (!arches.is_empty()).then(|| arches.join(" ")))
        .opt("Expired", text_at(body, &["expire"]));
    severity::DEBUG
}

/// `name-version-release.arch` of an rpm dict, or of the protonmsg `rpm_*` headers.
fn rpm_nvra(body: &Value, h: &Headers<'_>) -> Option<String> {
    let part = |k: &str| s(body, &["rpm", k], h, &format!("rpm_{k}"));
    let nvr = nvr(
        part("name").as_deref(),
        part("version").as_deref(),
        part("release").as_deref(),
    )?;
    Some(match part("arch") {
        Some(a) => format!("{nvr}.{a}"),
        None => nvr,
    })
}

fn import(v: &mut View, body: &Value, h: &Headers<'_>, web: Option<&Base>) -> u8 {
    let build = at(body, &["build"]).unwrap_or(&Value::Null);
    let b = build_of(build, h);
    let kind = s(body, &["type"], h, "importType");
    let kind = kind.as_deref().unwrap_or("build");
    let rpm = rpm_nvra(body, h);
    v.summary = match &rpm {
        Some(r) => format!("{kind} {r} imported into {}", b.shown()),
        None => format!("{kind} {} imported", b.shown()),
    };
    b.attribute(v);
    let id = b.id.or_else(|| int_at(body, &["rpm", "build_id"]));
    v.url = page(web, "buildinfo", "buildID", id);
    v.details
        .field("Type", kind)
        .field("Build", b.shown())
        .opt("RPM", rpm.as_deref())
        .opt("Owner", b.owner)
        .opt("File", str_at(body, &["filepath"]));
    severity::DEBUG
}

fn sign(v: &mut View, body: &Value, h: &Headers<'_>, web: Option<&Base>) -> u8 {
    let build = at(body, &["build"]).unwrap_or(&Value::Null);
    let b = build_of(build, h);
    let rpm = rpm_nvra(body, h);
    let key = s(body, &["sigkey"], h, "sigkey");
    let rpm_shown = rpm.as_deref().unwrap_or("(unknown)");
    v.summary = match &key {
        Some(k) => format!("rpm {rpm_shown} was signed with key {k}"),
        None => format!("rpm {rpm_shown} was signed"),
    };
    b.attribute(v);
    let id = int_at(body, &["rpm", "build_id"]).or(b.id);
    v.url = page(web, "buildinfo", "buildID", id);
    v.details
        .opt("RPM", rpm.as_deref())
        .field("Build", b.shown())
        .opt("Owner", b.owner)
        .opt("Key", key.as_deref())
        .opt("Hash", str_at(body, &["sighash"]));
    severity::DEBUG
}

fn promote(v: &mut View, body: &Value, h: &Headers<'_>, web: Option<&Base>) -> u8 {
    let build = at(body, &["build"]).unwrap_or(&Value::Null);
    let b = build_of(build, h);
    let id = b.id.or_else(|| h("build_id").and_then(|s| s.parse().ok()));
    let user = named(body, "user", h);
    let target = h("target_release");
    v.summary = match &user {
        Some(u) => format!("Build {} promoted by {u}", b.shown()),
        None => format!("Build {} promoted", b.shown()),
    };
    v.user(user.as_deref());
    b.attribute(v);
    v.agent = user.as_deref().map(str::to_owned);
    v.url = page(web, "buildinfo", "buildID", id);
    v.details
        .field("Build", b.shown())
        .opt("Draft release", h("draft_release").as_deref())
        .opt("Release", target.as_deref())
        .opt("By", user.as_deref());
    severity::INFO
}
