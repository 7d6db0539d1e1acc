//! What a message says about the object it reports on: its outcome word (`complete`,
//! `failed`, `finished`, …) and the thread of messages updating that one object (a Koji
//! build or task, a Pulp task, a Copr build), so that a newer notification replaces the
//! older one and digests can break a burst down by outcome.
//!
//! Both read the decoded message as the renderer recognised it (`rendered.source` and
//! `rendered.kind`), trusting nothing: a value of the wrong type, or a word that is not a
//! plausible state name, yields `None`.

use crate::message::Message;
use crate::record::Stored;
use lapin::types::AMQPValue;
use serde_json::Value;

use crate::sources::copr::status_name as copr_status;
use crate::sources::koji::{BUILD_STATES, TASK_STATES};

/// A state word longer than this is not a state.
const WORD_MAX: usize = 32;

/// The state a message reports, lower-case (`complete`, `failed`, `canceled`, `building`,
/// `deleted`, `closed`, `open`, `finished`, `error`, `running`, `waiting`, `succeeded`, …),
/// if any.
pub fn outcome(s: &Stored) -> Option<String> {
    let msg = &s.msg;
    let body = msg.json.as_ref().unwrap_or(&Value::Null);
    let kind = s.rendered.kind.as_str();
    match s.rendered.source.as_str() {
        "koji" => match kind {
            "buildsys.build.state.change" => state(at(body, &["new"]), &BUILD_STATES),
            "buildsys.task.state.change" => state(at(body, &["new"]), &TASK_STATES),
            _ => None,
        },
        "koji-messagebus" | "koji-protonmsg" => {
            let names: &[&str] = match kind {
                "koji.BuildStateChange" => &BUILD_STATES,
                "koji.TaskStateChange" => &TASK_STATES,
                _ => return None,
            };
            let attribute = str_at(body, &["attribute"])
                .map(str::to_owned)
                .or_else(|| header_str(msg, "attribute"));
            if attribute.is_some_and(|a| a != "state") {
                return None;
            }
            state(at(body, &["new"]), names)
                .or_else(|| header_state(msg, "new", names))
                // protonmsg addresses end in the new state: `….build.canceled`.
                .or_else(|| {
                    let event = msg.topic.rsplit(['.', '/']).next()?;
                    (s.rendered.source == "koji-protonmsg"
                        && names.iter().any(|n| n.eq_ignore_ascii_case(event)))
                    .then(|| event.to_ascii_lowercase())
                })
        }
        "pulp" => pulp(kind, body),
        "copr" => {
            let body = match at(body, &["msg"]) {
                Some(inner) if inner.is_object() => inner,
                _ => body,
            };
            match at(body, &["status"])? {
                Value::Number(n) => copr_status(n.as_i64()?).map(str::to_owned),
                v => word(v.as_str()?),
            }
        }
        "bodhi" => {
            if kind.starts_with("bodhi.compose.complete") {
                return match at(body, &["success"])?.as_bool()? {
                    true => Some("succeeded".to_owned()),
                    false => Some("failed".to_owned()),
                };
            }
            str_at(body, &["update", "status"])
                .or_else(|| str_at(body, &["comment", "update", "status"]))
                .and_then(word)
        }
        _ => None,
    }
}

/// The thread key of messages that update one object, so a newer notification replaces the
/// older: a Koji build (`koji-build:<build id or name-version-release>`), a Koji task
/// (`koji-task:<id>`), a Pulp task (`pulp-task:<task id>`), a Copr build
/// (`copr-build:<build id>`); `None` otherwise.
pub fn thread(s: &Stored) -> Option<String> {
    let msg = &s.msg;
    let body = msg.json.as_ref().unwrap_or(&Value::Null);
    let kind = s.rendered.kind.as_str();
    match (s.rendered.source.as_str(), kind) {
        ("koji", "buildsys.build.state.change") => {
            let key = id_at(body, &["build_id"]).or_else(|| {
                let part = |k: &str| str_at(body, &[k]);
                nvr(part("name")?, part("version")?, part("release")?)
            })?;
            Some(format!("koji-build:{key}"))
        }
        ("koji", "buildsys.task.state.change") => {
            let id = id_at(body, &["id"]).or_else(|| id_at(body, &["info", "id"]))?;
            Some(format!("koji-task:{id}"))
        }
        ("koji-messagebus" | "koji-protonmsg", "koji.BuildStateChange") => {
            let key = id_at(body, &["info", "id"])
                .or_else(|| id_at(body, &["info", "build_id"]))
                .or_else(|| {
                    let part = |k: &str| header_str(msg, k);
                    nvr(&part("name")?, &part("version")?, &part("release")?)
                })
                .or_else(|| str_at(body, &["info", "nvr"]).and_then(plain))?;
            Some(format!("koji-build:{key}"))
        }
        ("koji-messagebus" | "koji-protonmsg", "koji.TaskStateChange") => {
            let id = id_at(body, &["info", "id"])
                .or_else(|| header_int(msg, "id").map(|n| n.to_string()))?;
            Some(format!("koji-task:{id}"))
        }
        ("pulp", "pulp.task") => Some(format!("pulp-task:{}", plain(str_at(body, &["task_id"])?)?)),
        ("pulp", k) if k.starts_with("pulp.event.") => {
            let id = plain(str_at(body, &["call_report", "task_id"])?)?;
            Some(format!("pulp-task:{id}"))
        }
        ("copr", "copr.build.start" | "copr.build.end" | "copr.chroot.start") => {
            let body = match at(body, &["msg"]) {
                Some(inner) if inner.is_object() => inner,
                _ => body,
            };
            Some(format!("copr-build:{}", id_at(body, &["build"])?))
        }
        _ => None,
    }
}

/// Pulp task reports carry the task's state; event-listener notifications say whether the
/// operation is running (`start`) or how it ended (`finish`: the payload's result).
fn pulp(kind: &str, body: &Value) -> Option<String> {
    if kind == "pulp.task" {
        return str_at(body, &["state"]).and_then(word);
    }
    let event = kind.strip_prefix("pulp.event.")?;
    let report_state = || str_at(body, &["call_report", "state"]).and_then(word);
    if event.ends_with(".finish") {
        str_at(body, &["payload", "result"])
            .and_then(word)
            .or_else(|| {
                report_state().filter(|s| matches!(s.as_str(), "finished" | "error" | "canceled"))
            })
            .or_else(|| Some("finished".to_owned()))
    } else if event.ends_with(".start") {
        report_state().or_else(|| Some("running".to_owned()))
    } else {
        None
    }
}

/// A Koji state given by number (an index into `names`) or by name.
fn state(v: Option<&Value>, names: &[&str]) -> Option<String> {
    match v? {
        Value::Number(n) => {
            let i = usize::try_from(n.as_u64()?).ok()?;
            names.get(i).map(|s| s.to_ascii_lowercase())
        }
        Value::String(s) => word(s),
        _ => None,
    }
}

fn header_state(msg: &Message, key: &str, names: &[&str]) -> Option<String> {
    if let Some(s) = header_str(msg, key) {
        return word(&s);
    }
    let n = usize::try_from(header_int(msg, key)?).ok()?;
    names.get(n).map(|s| s.to_ascii_lowercase())
}

/// A state word, lower-cased, when it plausibly is one: short, letters, digits, `_`, `-`
/// or spaces.
fn word(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.chars().count() <= WORD_MAX
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '));
    ok.then(|| s.to_lowercase())
}

/// An identifier fit for a thread key: short, no spaces or controls.
fn plain(s: &str) -> Option<String> {
    let ok =
        !s.is_empty() && s.len() <= 255 && s.chars().all(|c| !c.is_whitespace() && !c.is_control());
    ok.then(|| s.to_owned())
}

fn nvr(name: &str, version: &str, release: &str) -> Option<String> {
    plain(&format!("{name}-{version}-{release}"))
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.as_object()?.get(*key))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str().filter(|s| !s.is_empty())
}

/// An integer id, or a string one.
fn id_at(v: &Value, path: &[&str]) -> Option<String> {
    match at(v, path)? {
        Value::Number(n) => n.as_i64().map(|n| n.to_string()),
        Value::String(s) => plain(s),
        _ => None,
    }
}

fn header_str(msg: &Message, key: &str) -> Option<String> {
    let s = match msg.headers.inner().get(key)? {
        AMQPValue::ShortString(s) => s.as_str().to_owned(),
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

fn header_int(msg: &Message, key: &str) -> Option<i64> {
    crate::message::header_int(msg.headers.inner().get(key)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Entry;
    use crate::recorded::{corpus_dirs, fixture_paths, Fixture};
    use crate::sources::RenderContext;

    /// Every fixture that decodes into a stored message, with its file name.
    fn stored_fixtures() -> Vec<(String, Fixture, Stored)> {
        let mut out = Vec::new();
        for dir in corpus_dirs() {
            for path in fixture_paths(&dir).expect("list fixtures") {
                let fx = Fixture::load(&path).expect("load fixture");
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let Ok(env) = fx.envelope(time::OffsetDateTime::UNIX_EPOCH) else {
                    continue;
                };
                let ctx = RenderContext {
                    koji_web_base: fx.expect["koji_web_base"].as_str().map(str::to_owned),
                    pulp_base: fx.expect["pulp_base"].as_str().map(str::to_owned),
                    ..Default::default()
                };
                if let Entry::Stored(s) = Entry::new(Message::decode(env), &ctx) {
                    out.push((name, fx, *s));
                }
            }
        }
        assert!(out.len() > 50, "the fixture corpus is missing or small");
        out
    }

    /// Hints that `outcome` does not reproduce, and why. Empty: every hint is derivable.
    const NOT_DERIVABLE: &[(&str, &str)] = &[];

    #[test]
    fn notify_outcome_matches_fixture_hints() {
        let mut checked = 0;
        for (name, fx, s) in stored_fixtures() {
            // `state` everywhere; Copr says `status`, Pulp's event listener `result`.
            let hint = ["state", "status", "result"]
                .iter()
                .find_map(|k| fx.expect[*k].as_str());
            let Some(hint) = hint else { continue };
            if let Some((_, why)) = NOT_DERIVABLE.iter().find(|(n, _)| *n == name) {
                eprintln!("{name}: hint {hint:?} not derivable: {why}");
                continue;
            }
            assert_eq!(
                outcome(&s).as_deref(),
                Some(hint.to_lowercase().as_str()),
                "{name}"
            );
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} fixtures carry a state hint");
    }

    #[test]
    fn notify_outcome_and_thread_of_every_fixture() {
        let mut seen = std::collections::BTreeMap::new();
        for (name, _, s) in stored_fixtures() {
            // Total on hostile input; bounded words.
            if let Some(o) = outcome(&s) {
                assert!(
                    o.chars().count() <= WORD_MAX && o == o.to_lowercase(),
                    "{name}: {o}"
                );
            }
            seen.insert(name, (outcome(&s), thread(&s)));
        }
        let get = |n: &str| seen.get(n).cloned().unwrap_or_default();
        let some = |a: &str, b: &str| (Some(a.to_owned()), Some(b.to_owned()));
        assert_eq!(
            get("koji-build-state-change-complete-chromium.json"),
            some("complete", "koji-build:1478312")
        );
        assert_eq!(
            get("koji-task-state-change-closed-libfreehand-stg.json"),
            some("closed", "koji-task:42569071")
        );
        assert_eq!(
            get("kojimb-headers-buildstatechange-failed-libreoffice.json"),
            some("failed", "koji-build:547932")
        );
        assert_eq!(
            get("kojimb-headers-taskstatechange-closed-buildarch.json").1,
            Some("koji-task:12812639".to_owned())
        );
        // No hint in the corpus, but the message says so.
        assert_eq!(
            get("kojipm-build-canceled-libgpod.json"),
            some("canceled", "koji-build:543196")
        );
        assert_eq!(
            get("kojipm-task-failed-buildarch.json"),
            some("failed", "koji-task:12826300")
        );
        // Task reports and event notifications of one Pulp task share its thread.
        assert_eq!(
            get("pulp-task-finished-sync-scenario-test.json"),
            some("finished", "pulp-task:8b9c7591-4d1b-48b7-b37b-bce4fdc9c2fd")
        );
        assert_eq!(
            get("pulp-event-repo-sync-start-scenario-test.json"),
            some("running", "pulp-task:8b9c7591-4d1b-48b7-b37b-bce4fdc9c2fd")
        );
        assert_eq!(
            get("copr-build-end-failed-tkn.json"),
            some("failed", "copr-build:942697")
        );
        assert_eq!(
            get("copr-build-start-python-hypothesis-fedmsg-envelope.json").1,
            Some("copr-build:945012".to_owned())
        );
        assert_eq!(
            get("bodhi-update-request-unpush-python-operator-courier.json"),
            (Some("unpushed".to_owned()), None)
        );
        assert_eq!(get("anitya-project-add-pg-semver.json"), (None, None));
        assert_eq!(get("koji-tag-http-parser.json"), (None, None));
    }

    #[test]
    fn notify_outcome_words_are_plausible() {
        assert_eq!(word(" CLOSED "), Some("closed".to_owned()));
        assert_eq!(word("in progress"), Some("in progress".to_owned()));
        assert_eq!(word("<b>x</b>"), None);
        assert_eq!(word(&"a".repeat(33)), None);
        assert_eq!(
            state(Some(&serde_json::json!(4)), &BUILD_STATES).as_deref(),
            Some("canceled")
        );
        assert_eq!(state(Some(&serde_json::json!(5)), &BUILD_STATES), None);
        assert_eq!(state(Some(&serde_json::json!(-1)), &BUILD_STATES), None);
        assert_eq!(state(Some(&serde_json::json!(1.0)), &TASK_STATES), None);
        assert_eq!(plain("a b"), None);
    }
}
