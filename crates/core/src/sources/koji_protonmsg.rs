//! Koji's `protonmsg` hub plugin (AMQP 1.0, as used by Brew and other Koji hubs): the same
//! callback arguments as the `messagebus` plugin, JSON-encoded, sent to
//! `<prefix>.<object>.<event>` (`build.complete`, `task.failed`, `package.add`, `sign.rpm`,
//! `repo.done`, …) with the callback name in the `type` application property and a few key
//! facts copied into the other properties. Bridged to AMQP 0-9-1 the address becomes the
//! routing key and the properties become headers.
//!
//! A message is taken for protonmsg only when its `type` names a Koji callback *and* its
//! routing key ends the way the plugin builds addresses for that callback.

use crate::message::{Message, MAX_BODY_BYTES};
use crate::sources::fields::header_str;
use crate::sources::koji_messagebus::{render_callback, CALLBACKS};
use crate::sources::{RenderContext, View};
use serde_json::Value;
use std::borrow::Cow;

pub(crate) fn render(msg: &Message, ctx: &RenderContext) -> Option<View> {
    let callback = callback(msg)?;
    let body = body(msg);
    let empty = Value::Null;
    let body = body.as_deref().unwrap_or(&empty);
    Some(render_callback(msg, "koji-protonmsg", callback, body, ctx))
}

fn callback(msg: &Message) -> Option<&'static str> {
    if msg.topic.is_empty() {
        return None;
    }
    let t = header_str(msg, "type")?;
    let callback = CALLBACKS.iter().copied().find(|c| *c == t)?;
    let mut tokens = msg.topic.rsplit(['.', '/']);
    let (event, object) = (tokens.next()?, tokens.next()?);
    let fits = match callback {
        "BuildStateChange" => object == "build" && is_state(event, BUILD_EVENTS),
        "TaskStateChange" => object == "task" && is_state(event, TASK_EVENTS),
        "Tag" => object == "build" && event == "tag",
        "Untag" => object == "build" && event == "untag",
        "BuildPromote" => object == "build" && event == "promote",
        "PackageListChange" => object == "package",
        "Import" => object == "import",
        "RPMSign" => object == "sign" && event == "rpm",
        "RepoInit" => object == "repo" && event == "init",
        "RepoDone" => object == "repo" && event == "done",
        _ => false,
    };
    fits.then_some(callback)
}

const BUILD_EVENTS: &[&str] = &["building", "complete", "deleted", "failed", "canceled"];
const TASK_EVENTS: &[&str] = &["free", "open", "closed", "canceled", "assigned", "failed"];

fn is_state(event: &str, states: &[&str]) -> bool {
    states.contains(&event)
}

/// The callback arguments. The plugin sends them as JSON text; a bridge that wrapped that
/// text in a JSON string once more is unwrapped here.
fn body(msg: &Message) -> Option<Cow<'_, Value>> {
    if let Some(v) = msg.json.as_ref() {
        return Some(Cow::Borrowed(v));
    }
    if msg.body.len() > MAX_BODY_BYTES {
        return None;
    }
    let inner: String = serde_json::from_slice(&msg.body).ok()?;
    match serde_json::from_str::<Value>(&inner).ok()? {
        v @ Value::Object(_) => Some(Cow::Owned(v)),
        _ => None,
    }
}
