//! Pulp 2: task status reports (`pulp.api.v2` exchange, routing key `tasks.<task id>`, body
//! the task's status document) and the deprecated event listener's notifications
//! (`pulp.server.repo.{sync,publish}.{start,finish}` with `event_type`, `payload` and
//! `call_report`). Both are summarised by repository, action and outcome, with the error
//! Pulp reports. Pulp puts no server address in its messages, so the link is the task's REST
//! path, joined to the connection's configured Pulp base when there is one.

use crate::message::{severity, Message};
use crate::sources::fields::{arr_at, at, int_at, obj_at, str_at, strs_at, text_at};
use crate::sources::text::Details;
use crate::sources::{link, RenderContext, View};
use serde_json::Value;

const TASK_EXCHANGE: &str = "pulp.api.v2";
const EVENT_TYPES: [&str; 4] = [
    "repo.sync.start",
    "repo.sync.finish",
    "repo.publish.start",
    "repo.publish.finish",
];

pub(crate) fn render(msg: &Message, ctx: &RenderContext) -> Option<View> {
    if let Some(event) = event_type(msg) {
        return Some(event_view(msg, event, ctx));
    }
    let task_id = msg
        .topic
        .strip_prefix("tasks.")
        .filter(|id| link::is_plain_id(id));
    let body = msg.json.as_ref();
    let task_shaped = body.is_some_and(|b| {
        str_at(b, &["_ns"]) == Some("task_status")
            || (str_at(b, &["task_id"]).is_some() && str_at(b, &["state"]).is_some())
    });
    // Pulp's own exchange with its `tasks.` keys, or that key shape with a task body on an
    // exchange of the user's choosing.
    let pulp_exchange = msg.exchange == TASK_EXCHANGE;
    if (pulp_exchange && (msg.topic.starts_with("tasks.") || task_shaped))
        || (task_id.is_some() && task_shaped)
    {
        return Some(task_view(body, task_id, ctx));
    }
    None
}

/// The listener event a message reports: from the body when it has the listener's shape,
/// else from a `pulp.server.<event>` subject.
fn event_type(msg: &Message) -> Option<&'static str> {
    let from_body = msg.json.as_ref().and_then(|b| {
        let t = str_at(b, &["event_type"])?;
        at(b, &["payload"])?;
        EVENT_TYPES.iter().copied().find(|e| *e == t)
    });
    from_body.or_else(|| {
        let t = msg.topic.strip_prefix("pulp.server.")?;
        EVENT_TYPES.iter().copied().find(|e| *e == t)
    })
}

/// `/pulp/api/v2/tasks/<id>/`, under the configured base when there is one.
fn task_link(task_id: Option<&str>, ctx: &RenderContext) -> Option<String> {
    let id = task_id.filter(|id| link::is_plain_id(id))?;
    let path = format!("/pulp/api/v2/tasks/{id}/");
    match ctx.pulp_base.as_deref() {
        Some(base) => Some(link::Base::new(base)?.at(&path)),
        None => Some(path),
    }
}

/// The value of a `pulp:<key>:<value>` tag.
fn tag<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    strs_at(body, &["tags"]).find_map(|t| {
        t.strip_prefix("pulp:")?
            .strip_prefix(key)?
            .strip_prefix(':')
            .filter(|v| !v.is_empty())
    })
}

fn task_view(body: Option<&Value>, routed_id: Option<&str>, ctx: &RenderContext) -> View {
    let mut v = View::new("pulp", "pulp", "pulp.task".to_owned());
    let Some(b) = body else {
        v.summary = format!(
            "Pulp task {} (unreadable body)",
            routed_id.unwrap_or("update")
        );
        v.severity = severity::DEBUG;
        return v;
    };
    let state = str_at(b, &["state"]).unwrap_or("unknown");
    let repo = tag(b, "repository");
    let action = tag(b, "action").or_else(|| {
        // `pulp.server.managers.repo.sync.sync` → `sync`
        str_at(b, &["task_type"])?.rsplit('.').next()
    });
    let mut summary = match (action, repo) {
        (Some(a), Some(r)) => format!("Pulp {a} of {r} {state}"),
        (Some(a), None) => format!("Pulp {a} {state}"),
        (None, Some(r)) => format!("Pulp task on {r} {state}"),
        (None, None) => format!("Pulp task {state}"),
    };
    if let Some(e) = error_line(b) {
        summary.push_str(&format!(": {e}"));
    }
    v.summary = summary;
    v.severity = match state {
        "error" => severity::ERROR,
        "canceled" => severity::WARNING,
        "finished" => severity::INFO,
        _ => severity::DEBUG,
    };
    let task_id = str_at(b, &["task_id"]).or(routed_id);
    v.url = task_link(task_id, ctx);
    let d = &mut v.details;
    d.opt("Task", task_id)
        .field("State", state)
        .opt("Repository", repo)
        .opt("Action", action)
        .opt("Type", str_at(b, &["task_type"]))
        .opt("Worker", str_at(b, &["worker_name"]))
        .opt("Started", str_at(b, &["start_time"]))
        .opt("Finished", str_at(b, &["finish_time"]));
    let spawned: Vec<&str> = arr_at(b, &["spawned_tasks"])
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.as_str().or_else(|| str_at(t, &["task_id"])))
        .take(20)
        .collect();
    if !spawned.is_empty() {
        d.field("Spawned", spawned.join(", "));
    }
    error_details(d, at(b, &["error"]));
    if let Some(result) = at(b, &["result"]).filter(|r| r.is_object()) {
        result_details(d, result);
    }
    if let Some(report) = obj_at(b, &["progress_report"]) {
        progress(d, report);
    }
    v
}

/// `RPM1004 Error retrieving metadata: Not found` from a task's `error`.
fn error_line(b: &Value) -> Option<String> {
    let code = str_at(b, &["error", "code"]);
    let description = str_at(b, &["error", "description"]);
    match (code, description) {
        (Some(c), Some(d)) => Some(format!("{c} {d}")),
        (Some(c), None) => Some(c.to_owned()),
        (None, Some(d)) => Some(d.to_owned()),
        (None, None) => None,
    }
}

fn error_details(d: &mut Details, error: Option<&Value>) {
    let Some(e) = error.filter(|e| e.is_object()) else {
        return;
    };
    d.opt("Error code", str_at(e, &["code"]))
        .opt("Error", str_at(e, &["description"]));
    for sub in arr_at(e, &["sub_errors"])
        .unwrap_or_default()
        .iter()
        .take(10)
    {
        d.opt("Sub-error", str_at(sub, &["description"]));
    }
}

/// A sync or publish result: outcome, counts and error message.
fn result_details(d: &mut Details, r: &Value) {
    d.opt("Result", str_at(r, &["result"]));
    let counts: Vec<String> = ["added", "removed", "updated"]
        .iter()
        .filter_map(|k| int_at(r, &[&format!("{k}_count")]).map(|n| format!("{n} {k}")))
        .collect();
    if !counts.is_empty() {
        d.field("Units", counts.join(", "));
    }
    d.opt("Error", str_at(r, &["error_message"]))
        .opt("Exception", str_at(r, &["exception"]));
    if let Some(summary) = obj_at(r, &["summary"]) {
        let steps: Vec<String> = summary
            .iter()
            .take(20)
            .filter_map(|(k, s)| {
                let state = s.as_str().or_else(|| str_at(s, &["state"]))?;
                Some(format!("{k} {state}"))
            })
            .collect();
        if !steps.is_empty() {
            d.field("Steps", steps.join(", "));
        }
    }
    if let Some(tb) = str_at(r, &["traceback"]) {
        d.section("Traceback", tb);
    }
}

/// The progress report: importer steps keyed by name, or a distributor's list of steps.
fn progress(d: &mut Details, report: &serde_json::Map<String, Value>) {
    let mut lines = String::new();
    for (owner, steps) in report.iter().take(5) {
        match steps {
            Value::Object(map) => {
                for (name, step) in map.iter().take(20) {
                    lines.push_str(&step_line(owner, name, step));
                }
            }
            Value::Array(list) => {
                for step in list.iter().take(30) {
                    let name = str_at(step, &["description"])
                        .or_else(|| str_at(step, &["step_type"]))
                        .unwrap_or("step");
                    lines.push_str(&step_line(owner, name, step));
                }
            }
            _ => {}
        }
    }
    d.section("Progress", &lines);
}

fn step_line(owner: &str, name: &str, step: &Value) -> String {
    let Some(state) = str_at(step, &["state"]) else {
        return String::new();
    };
    let mut line = format!("{owner}: {name} {state}");
    let total = int_at(step, &["items_total"]);
    if let (Some(total), Some(left)) = (total, int_at(step, &["items_left"])) {
        line.push_str(&format!(
            " ({} of {total} items)",
            total.saturating_sub(left)
        ));
    } else if let (Some(total), Some(done)) = (total, int_at(step, &["num_processed"])) {
        line.push_str(&format!(" ({done} of {total})"));
    }
    if let Some(e) = str_at(step, &["error"]) {
        line.push_str(&format!(": {e}"));
    }
    line.push('\n');
    line
}

fn event_view(msg: &Message, event: &'static str, ctx: &RenderContext) -> View {
    let mut v = View::new("pulp", "pulp", format!("pulp.event.{event}"));
    let empty = Value::Null;
    let b = msg.json.as_ref().unwrap_or(&empty);
    let payload = at(b, &["payload"]).unwrap_or(&empty);
    let report = at(b, &["call_report"]).unwrap_or(&empty);
    let action = if event.contains(".sync.") {
        "sync"
    } else {
        "publish"
    };
    let repo = str_at(payload, &["repo_id"]).or_else(|| tag(report, "repository"));
    let repo = repo.unwrap_or("unknown repository");
    if event.ends_with(".start") {
        v.summary = format!("Pulp {repo} {action} started");
        v.severity = severity::DEBUG;
    } else {
        let result = str_at(payload, &["result"]).unwrap_or("finished");
        let mut summary = format!("Pulp {repo} {action} {result}");
        if let Some(e) = str_at(payload, &["error_message"]) {
            summary.push_str(&format!(": {e}"));
        }
        v.summary = summary;
        v.severity = match result {
            "failed" | "error" => severity::ERROR,
            "canceled" => severity::WARNING,
            _ => severity::INFO,
        };
    }
    let task_id = str_at(report, &["task_id"]).or_else(|| {
        str_at(report, &["_href"])?
            .strip_prefix("/pulp/api/v2/tasks/")?
            .strip_suffix('/')
    });
    v.url = task_link(task_id, ctx);
    let d = &mut v.details;
    d.field("Repository", repo)
        .field("Event", event)
        .opt("Importer", str_at(payload, &["importer_id"]))
        .opt("Distributor", str_at(payload, &["distributor_id"]))
        .opt("Started", str_at(payload, &["started"]))
        .opt("Completed", str_at(payload, &["completed"]))
        .opt("Task", task_id)
        .opt("Task state", text_at(report, &["state"]));
    if payload.get("result").is_some() {
        result_details(d, payload);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_without_a_base() {
        let id = "67c30b77-7eff-4be1-9355-44dd633bf71b";
        let none = RenderContext::default();
        assert_eq!(
            task_link(Some(id), &none).as_deref(),
            Some("/pulp/api/v2/tasks/67c30b77-7eff-4be1-9355-44dd633bf71b/")
        );
        let based = RenderContext {
            pulp_base: Some("https://pulp.example.com/".to_owned()),
            ..RenderContext::default()
        };
        assert_eq!(
            task_link(Some(id), &based).as_deref(),
            Some(
                "https://pulp.example.com/pulp/api/v2/tasks/67c30b77-7eff-4be1-9355-44dd633bf71b/"
            )
        );
        let hostile = RenderContext {
            pulp_base: Some("javascript:alert(1)".to_owned()),
            ..RenderContext::default()
        };
        assert_eq!(task_link(Some(id), &hostile), None);
        assert_eq!(task_link(Some("../../etc"), &none), None);
    }
}
