//! What one stored message says about packages: for each package it names, one timeline
//! [`Event`] with the stage of the chain it belongs to and the [`Change`] it makes to that
//! package's state. Pure: it reads the message body and its rendering, nothing else.
//!
//! Which packages a message concerns is the renderer's answer (the producer's schema
//! rules, and only for messages whose headers may attribute anything); the body supplies
//! the rest — NVRs, tags, update aliases, decisions.

use super::evr::{self, Nvr};
use super::Stage;
use crate::record::Stored;
use serde_json::Value;

/// The most packages one message adds timeline events for (a mass rebuild's update or tag
/// can name hundreds; their own messages carry each one too).
const PACKAGES_PER_MESSAGE: usize = 50;
/// The longest value kept in a timeline field.
const FIELD_MAX: usize = 200;

/// One package's event in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub package: String,
    pub stage: Stage,
    pub branch: Option<String>,
    pub version: Option<String>,
    pub nvr: Option<String>,
    pub state: Option<String>,
    pub url: Option<String>,
    pub change: Change,
}

/// What an event changes in the package's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Only the timeline shows it.
    Nothing,
    Upstream,
    Build {
        owner: Option<String>,
    },
    Tag {
        tag: String,
        added: bool,
    },
    Update(Update),
    /// Feedback on an update: this comment's karma, and the update's total when given.
    Karma {
        alias: String,
        total: Option<i64>,
    },
    Ci,
    Gating {
        subject: String,
        decision: Decision,
    },
    Ftbfs {
        failing: bool,
    },
}

/// An update as a Bodhi message carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub alias: String,
    pub status: Option<String>,
    pub request: Option<String>,
    pub user: Option<String>,
    pub karma: Option<i64>,
    pub stable: bool,
}

/// Greenwave's verdict, as Bodhi shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Passed,
    Failed,
    Waiting,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Passed => "passed",
            Decision::Failed => "failed",
            Decision::Waiting => "waiting",
        }
    }
}

/// What a message tells the model, besides its events.
#[derive(Debug, Default)]
pub struct Extracted {
    pub events: Vec<Event>,
    /// The release number Rawhide has, when the message says so.
    pub rawhide: Option<u32>,
    /// Events about a Bodhi update named only by its alias (Greenwave and WaiverDB say no
    /// more): the packages are the update's, which [`super::record`] looks up.
    pub by_alias: Vec<(String, Event)>,
}

/// The events of one message. `rawhide` is the Rawhide release number known so far, to
/// name its dist tag `rawhide` rather than `fNN`.
pub fn extract(s: &Stored, rawhide: Option<u32>) -> Extracted {
    let topic = crate::sources::schema_topic(&s.msg.topic);
    let Some(body) = s.msg.json.as_ref().filter(|b| b.is_object()) else {
        return Extracted::default();
    };
    let stage = match stage_of(topic) {
        Some(stage) => stage,
        None => return Extracted::default(),
    };
    let learned = learn_rawhide(topic, body);
    let rawhide = learned.or(rawhide);
    let mut out = Extracted {
        events: Vec::new(),
        rawhide: learned,
        by_alias: Vec::new(),
    };
    let names = packages(s, topic, body);
    if names.is_empty() && stage == Stage::Gating {
        if let Some(alias) = subjects(body).into_iter().find(|s| is_alias(s)) {
            if let Some(e) = event(s, topic, body, stage, "", rawhide) {
                out.by_alias.push((alias, e));
            }
        }
        return out;
    }
    for package in names.into_iter().take(PACKAGES_PER_MESSAGE) {
        if let Some(e) = event(s, topic, body, stage, &package, rawhide) {
            out.events.push(e);
        }
    }
    out
}

pub(super) fn stage_of(topic: &str) -> Option<Stage> {
    Some(match topic {
        t if t.starts_with("anitya.project.version.update") => Stage::Upstream,
        t if t.starts_with("hotness.update.") => Stage::Hotness,
        "bugzilla.bug.new" | "bugzilla.bug.update" => Stage::Bug,
        "git.receive" => Stage::Commit,
        "buildsys.build.state.change" => Stage::Build,
        "buildsys.tag" | "buildsys.untag" => Stage::Tag,
        "bodhi.update.comment" | "bodhi.update.karma.threshold.reach" => Stage::Feedback,
        t if t.starts_with("bodhi.update.") => Stage::Update,
        t if t.starts_with("ci.koji-build.test.") || t == "resultsdb.result.new" => Stage::Ci,
        "greenwave.decision.update" | "waiverdb.waiver.new" => Stage::Gating,
        "koschei.package.state.change" => Stage::Ftbfs,
        "copr.build.end" => Stage::Copr,
        _ => return None,
    })
}

/// Builds for the `rawhide` target, and Bodhi releases whose branch is `rawhide`, say
/// which release number Rawhide is.
fn learn_rawhide(topic: &str, body: &Value) -> Option<u32> {
    match topic {
        "buildsys.build.state.change" => {
            let target = body.pointer("/request/1").and_then(Value::as_str)?;
            (target == "rawhide")
                .then(|| str_at(body, "/release").and_then(evr::dist_number))
                .flatten()
        }
        t if t.starts_with("bodhi.update.") => {
            let release = body
                .pointer("/update/release")
                .or_else(|| body.pointer("/comment/update/release"))?;
            if str_at(release, "/branch") != Some("rawhide") {
                return None;
            }
            let tag = str_at(release, "/dist_tag").or_else(|| str_at(release, "/name"))?;
            let digits: String = tag.chars().filter(char::is_ascii_digit).collect();
            digits.parse().ok().filter(|n| *n > 0 && *n < 10_000)
        }
        _ => None,
    }
}

/// The packages a message concerns: the renderer's, or where the renderer names none (CI,
/// Greenwave and WaiverDB send base messages that name no one, and Jenkins' CI messages
/// carry no schema header at all) the package the body is about — these topics are
/// published only by their producers, and the model's question is which build a result
/// is for, not who to attribute it to.
fn packages(s: &Stored, topic: &str, body: &Value) -> Vec<String> {
    if !s.rendered.packages.is_empty() {
        return s.rendered.packages.clone();
    }
    let name = match topic {
        "buildsys.build.state.change" | "buildsys.tag" | "buildsys.untag" => {
            str_at(body, "/name").map(str::to_owned)
        }
        "koschei.package.state.change" => str_at(body, "/name").map(str::to_owned),
        "copr.build.end" => str_at(body, "/pkg").map(str::to_owned),
        t if t.starts_with("ci.koji-build.") => str_at(body, "/artifact/component")
            .map(str::to_owned)
            .or_else(|| nvr_name(str_at(body, "/artifact/nvr"))),
        "greenwave.decision.update" | "waiverdb.waiver.new" => {
            let subjects = subjects(body);
            return subjects
                .iter()
                .filter(|n| !is_alias(n))
                .filter_map(|n| Nvr::parse(n).map(|v| v.name.to_owned()))
                .collect();
        }
        _ => None,
    };
    name.filter(|n| valid_name(n)).into_iter().collect()
}

fn nvr_name(nvr: Option<&str>) -> Option<String> {
    Nvr::parse(nvr?).map(|n| n.name.to_owned())
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 255 && !n.chars().any(char::is_control)
}

/// The subjects a Greenwave decision or a waiver is about: NVRs or update aliases.
fn subjects(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(id) = str_at(body, "/subject_identifier") {
        out.push(id.to_owned());
    }
    if let Some(id) = str_at(body, "/subject/item") {
        out.push(id.to_owned());
    }
    for item in body
        .pointer("/subject")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(PACKAGES_PER_MESSAGE)
    {
        if let Some(id) = str_at(item, "/item") {
            out.push(id.to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

fn event(
    s: &Stored,
    topic: &str,
    body: &Value,
    stage: Stage,
    package: &str,
    rawhide: Option<u32>,
) -> Option<Event> {
    let mut e = Event {
        package: package.to_owned(),
        stage,
        branch: None,
        version: None,
        nvr: None,
        state: None,
        url: s.rendered.url.clone(),
        change: Change::Nothing,
    };
    match stage {
        Stage::Upstream => {
            e.version = Some(newest_stable(body)?);
            e.change = Change::Upstream;
        }
        Stage::Hotness => {
            e.version = str_at(body, "/trigger/msg/message/upstream_version")
                .or_else(|| str_at(body, "/trigger/msg/project/version"))
                .map(bounded);
            e.state = Some(match topic {
                "hotness.update.bug.file" => match body.pointer("/bug/bug_id") {
                    Some(Value::Number(n)) => format!("bug {n} filed"),
                    _ => "bug filed".to_owned(),
                },
                _ => match str_at(body, "/reason") {
                    Some(r) => bounded(&format!("dropped ({r})")),
                    None => "dropped".to_owned(),
                },
            });
        }
        Stage::Bug => {
            e.state = str_at(body, "/bug/status").map(bounded);
        }
        Stage::Commit => {
            let ns = str_at(body, "/commit/namespace");
            if ns.is_some_and(|ns| ns != "rpms") {
                return None;
            }
            e.branch = str_at(body, "/commit/branch").and_then(|b| evr::tag_branch(b, rawhide));
            e.state = str_at(body, "/commit/rev").map(|r| r.chars().take(12).collect());
        }
        Stage::Build => build(&mut e, body, rawhide)?,
        Stage::Tag => {
            let tag = str_at(body, "/tag")?;
            let nvr = nvr_of(body)?;
            e.branch = evr::tag_branch(tag, rawhide);
            e.version = str_at(body, "/version").map(bounded);
            let added = topic == "buildsys.tag";
            e.state = Some(bounded(&if added {
                format!("tagged into {tag}")
            } else {
                format!("untagged from {tag}")
            }));
            e.nvr = Some(nvr);
            e.change = Change::Tag {
                tag: bounded(tag),
                added,
            };
        }
        Stage::Update | Stage::Feedback => update(&mut e, topic, body, package, rawhide)?,
        Stage::Ci => ci(&mut e, topic, body, package, rawhide)?,
        Stage::Gating => gating(&mut e, topic, body, package, rawhide)?,
        Stage::Ftbfs => {
            let new = str_at(body, "/new")?;
            e.branch = str_at(body, "/collection").and_then(|c| evr::tag_branch(c, rawhide));
            e.state = Some(bounded(new));
            e.change = Change::Ftbfs {
                failing: new == "failing",
            };
        }
        Stage::Copr => {
            e.version = str_at(body, "/version").map(bounded);
            e.branch = str_at(body, "/chroot").map(bounded);
            e.state = Some(
                match body.get("status").and_then(Value::as_i64) {
                    Some(1) => "succeeded",
                    Some(0) => "failed",
                    Some(4) => "skipped",
                    _ => "ended",
                }
                .to_owned(),
            );
        }
    }
    Some(e)
}

fn build(e: &mut Event, body: &Value, rawhide: Option<u32>) -> Option<()> {
    let nvr = nvr_of(body)?;
    let target = body.pointer("/request/1").and_then(Value::as_str);
    e.branch = target
        .and_then(|t| evr::tag_branch(t, rawhide))
        .or_else(|| Nvr::parse(&nvr).and_then(|n| n.branch(rawhide)));
    e.version = str_at(body, "/version").map(bounded);
    e.state = Some(
        match body.get("new").and_then(Value::as_i64) {
            Some(0) => "building",
            Some(1) => "complete",
            Some(2) => "deleted",
            Some(3) => "failed",
            Some(4) => "canceled",
            _ => "unknown",
        }
        .to_owned(),
    );
    e.nvr = Some(nvr);
    e.change = Change::Build {
        owner: str_at(body, "/owner")
            .filter(|o| valid_name(o))
            .map(bounded),
    };
    Some(())
}

fn update(
    e: &mut Event,
    topic: &str,
    body: &Value,
    package: &str,
    rawhide: Option<u32>,
) -> Option<()> {
    let u = body
        .get("update")
        .or_else(|| body.pointer("/comment/update"))?;
    let alias = bounded(str_at(u, "/alias")?);
    let release = u.get("release");
    e.branch = release
        .and_then(|r| str_at(r, "/branch"))
        .and_then(|b| evr::tag_branch(b, rawhide))
        .or_else(|| {
            release
                .and_then(|r| str_at(r, "/name"))
                .and_then(|n| evr::release_branch(n, rawhide))
        });
    let nvr = u
        .get("builds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| str_at(b, "/nvr"))
        .find(|n| Nvr::parse(n).is_some_and(|v| v.name == package));
    if let Some(nvr) = nvr {
        e.nvr = Some(bounded(nvr));
        e.version = Nvr::parse(nvr).map(|v| bounded(v.version));
        if e.branch.is_none() {
            e.branch = Nvr::parse(nvr).and_then(|v| v.branch(rawhide));
        }
    }
    if e.stage == Stage::Feedback {
        let karma = body.pointer("/comment/karma").and_then(Value::as_i64);
        e.state = Some(match (topic, karma) {
            ("bodhi.update.karma.threshold.reach", _) => match str_at(body, "/status") {
                Some(s) => bounded(&format!("{s} karma threshold reached")),
                None => "karma threshold reached".to_owned(),
            },
            (_, Some(k)) if k > 0 => format!("+{k} karma"),
            (_, Some(k)) if k < 0 => format!("{k} karma"),
            _ => "comment".to_owned(),
        });
        e.change = Change::Karma {
            alias,
            total: u.get("karma").and_then(Value::as_i64),
        };
        return Some(());
    }
    let status = str_at(u, "/status").map(bounded);
    let stable = topic == "bodhi.update.complete.stable";
    e.state = match topic.strip_prefix("bodhi.update.") {
        Some("requirements_met.stable") => Some("stable requirements met".to_owned()),
        Some(t) if t.starts_with("request.") => Some(bounded(&format!(
            "requested {}",
            t.trim_start_matches("request.")
        ))),
        Some(t) if t.starts_with("complete.") => Some(bounded(&format!(
            "pushed to {}",
            t.trim_start_matches("complete.")
        ))),
        _ => status.clone(),
    };
    e.change = Change::Update(Update {
        alias,
        status: if stable {
            Some("stable".to_owned())
        } else {
            status
        },
        request: str_at(u, "/request").map(bounded),
        user: str_at(u, "/user/name")
            .filter(|n| valid_name(n))
            .map(bounded),
        karma: u.get("karma").and_then(Value::as_i64),
        stable,
    });
    Some(())
}

fn ci(e: &mut Event, topic: &str, body: &Value, package: &str, rawhide: Option<u32>) -> Option<()> {
    let (nvr, state) = if topic == "resultsdb.result.new" {
        let items = body
            .pointer("/data/item")
            .or_else(|| body.pointer("/result/data/item"));
        let nvr = strings(items)
            .into_iter()
            .find(|n| for_package(n, package))?;
        let outcome = str_at(body, "/outcome").or_else(|| str_at(body, "/result/outcome"));
        let case = str_at(body, "/testcase/name").or_else(|| str_at(body, "/result/testcase/name"));
        let state = match (outcome, case) {
            (Some(o), Some(c)) => format!("{} {c}", o.to_ascii_lowercase()),
            (Some(o), None) => o.to_ascii_lowercase(),
            _ => "result".to_owned(),
        };
        (nvr, state)
    } else {
        let nvr = str_at(body, "/artifact/nvr")?.to_owned();
        let status = topic.rsplit('.').next().unwrap_or_default();
        let state = match (status, str_at(body, "/test/result")) {
            ("complete", Some(r)) => r.to_owned(),
            (s, _) => s.to_owned(),
        };
        let state = match str_at(body, "/test/namespace").zip(str_at(body, "/test/type")) {
            Some((ns, ty)) => format!("{state} {ns}.{ty}"),
            None => state,
        };
        (nvr, state)
    };
    e.branch = Nvr::parse(&nvr).and_then(|n| n.branch(rawhide));
    e.version = Nvr::parse(&nvr).map(|n| bounded(n.version));
    e.nvr = Some(bounded(&nvr));
    e.state = Some(bounded(&state));
    e.change = Change::Ci;
    Some(())
}

fn gating(
    e: &mut Event,
    topic: &str,
    body: &Value,
    package: &str,
    rawhide: Option<u32>,
) -> Option<()> {
    let subjects = subjects(body);
    let nvr = subjects.iter().find(|n| for_package(n, package)).cloned();
    let alias = subjects.iter().find(|s| s.starts_with("FEDORA-")).cloned();
    e.branch = str_at(body, "/product_version")
        .and_then(|p| evr::release_branch(p, rawhide))
        .or_else(|| {
            nvr.as_deref()
                .and_then(Nvr::parse)
                .and_then(|n| n.branch(rawhide))
        });
    if let Some(nvr) = &nvr {
        e.version = Nvr::parse(nvr).map(|n| bounded(n.version));
        e.nvr = Some(bounded(nvr));
    }
    if topic == "waiverdb.waiver.new" {
        let case = str_at(body, "/testcase").unwrap_or("a result");
        e.state = Some(bounded(&format!("waived {case}")));
        return Some(());
    }
    let decision = super::gating::decision(body)?;
    let summary = str_at(body, "/summary").unwrap_or_default();
    e.state = Some(if summary.is_empty() {
        decision.as_str().to_owned()
    } else {
        bounded(&format!("{}: {summary}", decision.as_str()))
    });
    e.change = Change::Gating {
        subject: bounded(&alias.or(nvr)?),
        decision,
    };
    Some(())
}

/// A Bodhi update alias (`FEDORA-2026-1a2b3c4d5e`, `FEDORA-EPEL-2026-…`).
fn is_alias(s: &str) -> bool {
    s.starts_with("FEDORA-") && Nvr::parse(s).is_none_or(|n| n.name.starts_with("FEDORA"))
}

/// Whether an NVR is a build of `package`.
fn for_package(nvr: &str, package: &str) -> bool {
    Nvr::parse(nvr).is_some_and(|n| n.name == package)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .take(PACKAGES_PER_MESSAGE)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The newest stable upstream version an Anitya message announces, in RPM order.
fn newest_stable(body: &Value) -> Option<String> {
    let list = |p: &str| {
        body.pointer(p)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
            .filter(|a| !a.is_empty())
    };
    let candidates = list("/message/stable_versions")
        .or_else(|| list("/message/upstream_versions"))
        .or_else(|| list("/upstream_versions"))
        .or_else(|| str_at(body, "/message/project/version").map(|v| vec![v]))
        .or_else(|| str_at(body, "/project/version").map(|v| vec![v]))?;
    candidates
        .into_iter()
        .filter(|v| !v.is_empty() && v.len() <= FIELD_MAX)
        .max_by(|a, b| evr::compare_versions(a, b))
        .map(str::to_owned)
}

fn nvr_of(body: &Value) -> Option<String> {
    let name = str_at(body, "/name")?;
    let version = str_at(body, "/version")?;
    let release = str_at(body, "/release")?;
    Some(bounded(&format!("{name}-{version}-{release}")))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// A field as kept: one line, cleaned, bounded.
fn bounded(s: &str) -> String {
    let line = crate::clean::one_line(s);
    if line.len() <= FIELD_MAX {
        return line;
    }
    let mut cut = FIELD_MAX;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &line[..cut])
}
