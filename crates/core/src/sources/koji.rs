//! Koji through fedora-messaging (`buildsys.*`, the koji-fedoramessaging hub plugin): builds,
//! scratch-build tasks, tagging, package lists, repos and signatures. Summaries follow the
//! koji-fedoramessaging-messages schema classes word for word, except for repo messages,
//! whose schema has no summary of its own. Also home to what every Koji renderer shares:
//! the state enums and the task tree shown in the details.

use crate::message::{severity, Message};
use crate::sources::fields::{arr_at, at, int_at, str_at, strs_at, text_at};
use crate::sources::link::{self, Base};
use crate::sources::text::Details;
use crate::sources::{fedmsg, View};
use serde_json::Value;
use std::fmt::Write as _;

/// `koji.BUILD_STATES`, by number.
pub(crate) const BUILD_STATES: [&str; 5] =
    ["BUILDING", "COMPLETE", "DELETED", "FAILED", "CANCELED"];
/// `koji.TASK_STATES`, by number.
pub(crate) const TASK_STATES: [&str; 6] =
    ["FREE", "OPEN", "CLOSED", "CANCELED", "ASSIGNED", "FAILED"];

/// Fedora's primary hub, which messages from before `base_url` was added came from.
const FEDORA_KOJI: &str = "https://koji.fedoraproject.org";

/// The Koji state in `v` by name: numbers through `names`, names as given when known.
fn state_name(v: Option<&Value>, names: &[&str]) -> String {
    match v {
        Some(Value::Number(n)) => match n.as_u64().and_then(|i| names.get(i as usize)) {
            Some(name) => (*name).to_owned(),
            None => format!("unknown state {n}"),
        },
        Some(Value::String(s)) => {
            let upper = s.to_ascii_uppercase();
            if names.contains(&upper.as_str()) {
                upper
            } else {
                format!("unknown state {s}")
            }
        }
        _ => "unknown state".to_owned(),
    }
}

pub(crate) fn build_state(v: Option<&Value>) -> String {
    state_name(v, &BUILD_STATES)
}

pub(crate) fn task_state(v: Option<&Value>) -> String {
    state_name(v, &TASK_STATES)
}

/// `name-version-release` when all three are known.
pub(crate) fn nvr(
    name: Option<&str>,
    version: Option<&str>,
    release: Option<&str>,
) -> Option<String> {
    Some(format!("{}-{}-{}", name?, version?, release?))
}

/// The schema entry points of koji-fedoramessaging-messages and their topics.
pub(crate) fn topic_for_schema(schema: &str) -> Option<&'static str> {
    Some(match schema.strip_prefix("koji_fedoramessaging.")? {
        "build.BuildStateChangeV1" => "buildsys.build.state.change",
        "task.TaskStateChangeV1" => "buildsys.task.state.change",
        "tag.TagV1" => "buildsys.tag",
        "tag.UntagV1" => "buildsys.untag",
        "package.ListChangeV1" => "buildsys.package.list.change",
        "repo.InitV1" => "buildsys.repo.init",
        "repo.DoneV1" => "buildsys.repo.done",
        "rpm.SignV1" => "buildsys.rpm.sign",
        _ => return None,
    })
}

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("koji", "koji", topic.to_owned());
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("Koji {} (unreadable body)", topic.replace('.', " "));
        v.severity = fedmsg::severity(msg, severity::INFO);
        return v;
    };
    let web = web_base(body);
    let web = web.as_ref();
    let default_severity = match topic {
        "buildsys.build.state.change" => build(&mut v, body, web),
        "buildsys.task.state.change" => task(&mut v, body, web),
        "buildsys.tag" => tag(&mut v, body, web, "tagged into"),
        "buildsys.untag" => tag(&mut v, body, web, "untagged from"),
        "buildsys.package.list.change" => package_list(&mut v, body, web),
        "buildsys.repo.init" => repo(&mut v, body, web, "init"),
        "buildsys.repo.done" => repo(&mut v, body, web, "done"),
        "buildsys.rpm.sign" => sign(&mut v, body, web),
        _ => {
            v.summary = format!(
                "Koji {}",
                topic.trim_start_matches("buildsys.").replace('.', " ")
            );
            severity::INFO
        }
    };
    v.details.opt("Instance", str_at(body, &["instance"]));
    v.severity = fedmsg::severity(msg, default_severity);
    let trust = fedmsg::trust(msg);
    if !trust.attribute {
        v.withhold_attribution();
    }
    if !trust.link {
        v.url = None;
    }
    v
}

/// The hub's web root (`…/koji`): `base_url` when it is a safe link, Fedora's primary hub for
/// messages that predate `base_url`, and nothing when `base_url` is present but unusable.
fn web_base(body: &Value) -> Option<Base> {
    let server = match at(body, &["base_url"]) {
        Some(Value::String(s)) => Base::new(s),
        Some(Value::Null) | None => match str_at(body, &["instance"]) {
            None | Some("primary") => Base::new(FEDORA_KOJI),
            Some(_) => None,
        },
        Some(_) => None,
    };
    server.map(|s| s.child("/koji"))
}

/// `<web>/<page>?<param>=<id>` for an integer id.
pub(crate) fn page(web: Option<&Base>, page: &str, param: &str, id: Option<i64>) -> Option<String> {
    Some(web?.at(&format!("/{page}?{param}={}", id?)))
}

/// `<web>/<page>?<param>=<name>` for a name (Koji accepts names for tags and packages).
pub(crate) fn page_by_name(
    web: Option<&Base>,
    page: &str,
    param: &str,
    name: Option<&str>,
) -> Option<String> {
    Some(web?.at(&format!("/{page}?{param}={}", link::component(name?))))
}

fn build(v: &mut View, body: &Value, web: Option<&Base>) -> u8 {
    let name = str_at(body, &["name"]);
    let nvr = nvr(name, str_at(body, &["version"]), str_at(body, &["release"]));
    let owner = str_at(body, &["owner"]);
    let new = build_state(at(body, &["new"]));
    let shown = nvr
        .clone()
        .unwrap_or_else(|| name.unwrap_or("unknown build").to_owned());
    v.summary = match owner {
        Some(o) => format!("Build {new}: {o}'s {shown}"),
        None => format!("Build {new}: {shown}"),
    };
    v.user(owner);
    v.package(name);
    // The schema's agent_name: whoever started the build, unless Koji itself ended it.
    let old_is_null = at(body, &["old"]).is_none_or(Value::is_null);
    v.agent = match new.as_str() {
        _ if old_is_null => owner.map(str::to_owned),
        "COMPLETE" | "FAILED" | "DELETED" => None,
        _ => owner.map(str::to_owned),
    };
    let build_id = int_at(body, &["build_id"]);
    v.url = page(web, "buildinfo", "buildID", build_id);
    let old = at(body, &["old"])
        .filter(|o| !o.is_null())
        .map(|o| build_state(Some(o)));
    v.details
        .opt("Package", nvr.as_deref())
        .field(
            "Status",
            match old {
                Some(old) => format!("{old} → {new}"),
                None => new.clone(),
            },
        )
        .opt("Built by", owner)
        .opt("ID", text_at(body, &["build_id"]))
        .opt("Started", str_at(body, &["creation_time"]))
        .opt("Finished", str_at(body, &["completion_time"]))
        .opt("Source", first_str(body, "request"));
    if let Some(tree) = at(body, &["task"]).filter(|t| t.is_object()) {
        let files = str_at(body, &["files_base_url"]).and_then(Base::new);
        task_tree(&mut v.details, tree, web, files.as_ref());
    }
    severity::INFO
}

fn first_str<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    arr_at(body, &[key])?.first()?.as_str()
}

fn task(v: &mut View, body: &Value, web: Option<&Base>) -> u8 {
    let new = task_state(at(body, &["new"]));
    let method = str_at(body, &["method"]).or_else(|| str_at(body, &["info", "method"]));
    let method = method.unwrap_or("task");
    let id = int_at(body, &["id"]).or_else(|| int_at(body, &["info", "id"]));
    let srpm = str_at(body, &["srpm"]);
    let arch = str_at(body, &["info", "arch"]);
    v.summary = match (srpm, id) {
        (Some(s), _) => match arch {
            Some(a) => format!("Task {new} -- {method} ({s} {a})"),
            None => format!("Task {new} -- {method} ({s})"),
        },
        (None, Some(id)) => format!("Task {new} -- {method} #{id}"),
        (None, None) => format!("Task {new} -- {method}"),
    };
    let owner = str_at(body, &["owner"]);
    v.user(owner);
    v.agent = owner.map(str::to_owned);
    v.url = page(web, "taskinfo", "taskID", id);
    let old = at(body, &["old"])
        .filter(|o| !o.is_null())
        .map(|o| task_state(Some(o)));
    v.details
        .field(
            "Task",
            match id {
                Some(id) => format!("{method} #{id}"),
                None => method.to_owned(),
            },
        )
        .field(
            "State",
            match old {
                Some(old) => format!("{old} → {new}"),
                None => new.clone(),
            },
        )
        .opt("Owner", owner)
        .opt("SRPM", srpm);
    if let Some(tree) = at(body, &["info"]).filter(|t| t.is_object()) {
        let files = str_at(body, &["files_base_url"]).and_then(Base::new);
        task_tree(&mut v.details, tree, web, files.as_ref());
    }
    severity::INFO
}

fn tag(v: &mut View, body: &Value, web: Option<&Base>, verb: &str) -> u8 {
    let name = str_at(body, &["name"]);
    let shown = nvr(name, str_at(body, &["version"]), str_at(body, &["release"]));
    let shown = shown.as_deref().or(name).unwrap_or("a build");
    let tag = str_at(body, &["tag"]).unwrap_or("an unknown tag");
    let user = str_at(body, &["user"]);
    let owner = str_at(body, &["owner"]);
    v.summary = match user {
        Some(u) => format!("{shown} was {verb} {tag} by {u}"),
        None => format!("{shown} was {verb} {tag}"),
    };
    v.user(user);
    v.user(owner);
    v.package(name);
    v.agent = user.map(str::to_owned);
    v.url = page(web, "buildinfo", "buildID", int_at(body, &["build_id"]))
        .or_else(|| page(web, "taginfo", "tagID", int_at(body, &["tag_id"])));
    v.details
        .field("Build", shown)
        .field("Tag", tag)
        .opt("By", user)
        .opt("Owner", owner);
    severity::DEBUG
}

fn package_list(v: &mut View, body: &Value, web: Option<&Base>) -> u8 {
    let package = str_at(body, &["package"]);
    let tag = str_at(body, &["tag"]).unwrap_or("");
    let owner = str_at(body, &["owner"]);
    v.summary = format!(
        "Package list change for {}:  {tag}",
        package.unwrap_or("a package")
    );
    v.user(owner);
    v.package(package);
    v.agent = owner.map(str::to_owned);
    v.url = page_by_name(web, "packageinfo", "packageID", package);
    v.details
        .opt("Package", package)
        .field("Tag", tag)
        .opt("Action", str_at(body, &["action"]))
        .opt("Owner", owner)
        .opt("Blocked", text_at(body, &["block"]))
        .opt("Extra arches", str_at(body, &["extra_arches"]));
    severity::DEBUG
}

fn repo(v: &mut View, body: &Value, web: Option<&Base>, what: &str) -> u8 {
    let tag = str_at(body, &["tag"]).unwrap_or("unknown tag");
    let repo_id = int_at(body, &["repo_id"]);
    v.summary = match repo_id {
        Some(id) => format!("Repo {what}: {tag} (#{id})"),
        None => format!("Repo {what}: {tag}"),
    };
    v.url = page(web, "taginfo", "tagID", int_at(body, &["tag_id"]))
        .or_else(|| page_by_name(web, "taginfo", "tagID", Some(tag)));
    v.details
        .field("Tag", tag)
        .opt("Repo", repo_id.map(|id| id.to_string()))
        .opt("Repo page", page(web, "repoinfo", "repoID", repo_id));
    severity::DEBUG
}

fn sign(v: &mut View, body: &Value, web: Option<&Base>) -> u8 {
    let rpm = nvr(
        str_at(body, &["rpm", "name"]),
        str_at(body, &["rpm", "version"]),
        str_at(body, &["rpm", "release"]),
    );
    let owner = str_at(body, &["build", "owner_name"]);
    v.summary = format!("rpm {} was signed", rpm.as_deref().unwrap_or("(unknown)"));
    v.user(owner);
    v.package(str_at(body, &["build", "name"]));
    v.agent = owner.map(str::to_owned);
    let build_id =
        int_at(body, &["rpm", "build_id"]).or_else(|| int_at(body, &["build", "build_id"]));
    v.url = page(web, "buildinfo", "buildID", build_id);
    v.details
        .opt(
            "RPM",
            rpm.map(|r| match str_at(body, &["rpm", "arch"]) {
                Some(arch) => format!("{r}.{arch}"),
                None => r,
            }),
        )
        .opt("Build", str_at(body, &["build", "nvr"]))
        .opt("Owner", owner)
        .opt("Key", str_at(body, &["sigkey"]));
    severity::DEBUG
}

/// How much of a task tree the details show: real trees have a parent and one child per
/// architecture, so these bounds only ever cut hostile ones.
const TREE_MAX_DEPTH: usize = 4;
const TREE_MAX_TASKS: usize = 40;
const TREE_MAX_FILES: usize = 12;

/// The task tree, one line per task, with links to the task pages when the hub's web root
/// is known and to the logs when its file server is.
pub(crate) fn task_tree(d: &mut Details, root: &Value, web: Option<&Base>, files: Option<&Base>) {
    let mut lines = String::new();
    let mut count = 0;
    let bases = (web, files);
    walk(root, 0, bases, &mut lines, &mut count);
    d.section("Tasks", &lines);
}

type Bases<'a> = (Option<&'a Base>, Option<&'a Base>);

fn walk(t: &Value, depth: usize, bases: Bases<'_>, out: &mut String, count: &mut usize) {
    if depth > TREE_MAX_DEPTH || *count >= TREE_MAX_TASKS || !t.is_object() {
        return;
    }
    *count += 1;
    let indent = "  ".repeat(depth);
    let method = str_at(t, &["method"]).unwrap_or("task");
    let id = int_at(t, &["id"]);
    let _ = write!(out, "{indent}{method}");
    if let Some(id) = id {
        let _ = write!(out, " #{id}");
    }
    if let Some(arch) = str_at(t, &["arch"]) {
        let _ = write!(out, " ({arch})");
    }
    let _ = write!(out, " {}", task_state(at(t, &["state"])));
    if let Some(host) = str_at(t, &["host_name"]) {
        let _ = write!(out, " on {host}");
    }
    // The page is built from the id rather than taken from the task's own `url`, so that
    // every link in the tree points at the hub the message came from.
    if let Some(url) = page(bases.0, "taskinfo", "taskID", id) {
        let _ = write!(out, " {url}");
    }
    out.push('\n');
    if let Some(files) = bases.1 {
        for path in strs_at(t, &["result", "logs"]).take(TREE_MAX_FILES) {
            if let Some(url) = file_link(files, path, id) {
                let _ = writeln!(out, "{indent}  log: {url}");
            }
        }
    }
    for child in arr_at(t, &["children"]).unwrap_or_default() {
        walk(child, depth + 1, bases, out, count);
    }
}

/// A task output file under the hub's file server. Most tasks give paths relative to it
/// (`tasks/4050/139004050/build.log`); some give bare file names, which live in the task's
/// own directory, `tasks/<id % 10000>/<id>/`.
fn file_link(base: &Base, path: &str, task_id: Option<i64>) -> Option<String> {
    if path.starts_with('/')
        || path
            .split('/')
            .any(|p| p == ".." || p == "." || p.is_empty())
    {
        return None;
    }
    let encoded: Vec<String> = path.split('/').map(link::component).collect();
    let path = encoded.join("/");
    let path = if encoded.len() == 1 {
        let id = task_id.filter(|id| *id > 0)?;
        format!("tasks/{}/{id}/{path}", id % 10000)
    } else {
        path
    };
    Some(base.at(&format!("/{path}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_by_name_and_unknown_numbers() {
        assert_eq!(build_state(Some(&json!(1))), "COMPLETE");
        assert_eq!(build_state(Some(&json!(7))), "unknown state 7");
        assert_eq!(build_state(Some(&json!(-1))), "unknown state -1");
        assert_eq!(build_state(Some(&json!("canceled"))), "CANCELED");
        assert_eq!(task_state(Some(&json!("CLOSED"))), "CLOSED");
        assert_eq!(task_state(Some(&json!(4))), "ASSIGNED");
        assert_eq!(task_state(None), "unknown state");
    }

    #[test]
    fn web_base_rules() {
        assert_eq!(
            web_base(&json!({"base_url": "https://koji.stg.fedoraproject.org"})).map(|b| b.at("")),
            Some("https://koji.stg.fedoraproject.org/koji".to_owned())
        );
        assert_eq!(
            web_base(&json!({"base_url": "javascript:alert(1)//"})),
            None
        );
        assert_eq!(
            web_base(&json!({"instance": "primary"})).map(|b| b.at("")),
            Some("https://koji.fedoraproject.org/koji".to_owned())
        );
        assert_eq!(web_base(&json!({"instance": "s390"})), None);
    }

    #[test]
    fn file_links_stay_under_the_base() {
        let base = &Base::new("https://kojipkgs.example/work").expect("a valid base");
        assert_eq!(
            file_link(base, "tasks/1/2/build.log", None).as_deref(),
            Some("https://kojipkgs.example/work/tasks/1/2/build.log")
        );
        assert_eq!(
            file_link(base, "build.log", Some(111136748)).as_deref(),
            Some("https://kojipkgs.example/work/tasks/6748/111136748/build.log")
        );
        assert_eq!(file_link(base, "build.log", None), None);
        assert_eq!(file_link(base, "../x", Some(1)), None);
        assert_eq!(file_link(base, "/etc/passwd", Some(1)), None);
    }
}
