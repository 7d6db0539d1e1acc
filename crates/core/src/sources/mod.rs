//! Per-producer rendering: what a message means to a person. Each producer's module turns a
//! decoded [`Message`] into a [`Rendered`] view — source, kind, a one-line summary, details,
//! a safe link, the people and packages it concerns, and a severity.
//!
//! Rendering is pure and total: whatever the body holds, it returns a view and never panics.
//! Producers are recognised by what the envelope says, not by one loose field: a
//! fedora-messaging topic (or schema header) for Anitya, Koji, Bodhi, Copr, the-new-hotness,
//! Bugzilla, dist-git, CI Messages, ResultsDB, Greenwave, WaiverDB and Koschei; the exchange,
//! routing-key shape and `type` header for Koji's hub plugins; the exchange, routing key and
//! body shape for Pulp. Whatever is left goes to the generic renderer.

use crate::message::Message;
use serde::{Deserialize, Serialize};

mod anitya;
mod bodhi;
mod bugzilla;
mod ci;
pub(crate) mod copr;
mod fedmsg;
mod fields;
mod gating;
mod generic;
mod git;
pub mod hosts;
mod hotness;
pub(crate) mod koji;
mod koji_messagebus;
mod koji_protonmsg;
mod koschei;
mod link;
mod pulp;
mod text;

#[cfg(test)]
mod proptests;

pub(crate) use fedmsg::schema_topic;

/// Bumped whenever rendering changes, so stored rows are re-rendered on upgrade.
pub const RENDERER_VERSION: i64 = 3;

/// Per-connection facts a message does not carry itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderContext {
    /// Koji web base for raw hub-plugin messages, e.g. `https://koji.fedoraproject.org/koji`.
    pub koji_web_base: Option<String>,
    /// Pulp server base for task links, e.g. `https://pulp.example.com`.
    pub pulp_base: Option<String>,
    /// The hosts each producer's links may go to and still be offered to open.
    #[serde(default)]
    pub hosts: hosts::KnownHosts,
}

impl RenderContext {
    /// Whether a link a `source` message carries goes to a host that producer is known to
    /// use: a `[herald.hosts]` root, or the configured Koji or Pulp base for those.
    pub fn trusts(&self, source: &str, url: &str) -> bool {
        let extra: Vec<&str> = match source {
            "koji" | "koji-messagebus" | "koji-protonmsg" => self.koji_web_base.as_deref(),
            "pulp" => self.pulp_base.as_deref(),
            _ => None,
        }
        .into_iter()
        .collect();
        hosts::trusted(&self.hosts, &extra, source, url)
    }
}

/// A message as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    /// `anitya`, `koji`, `koji-messagebus`, `koji-protonmsg`, `pulp`, `bodhi`, `copr`,
    /// `hotness`, `bugzilla`, `dist-git`, `ci`, `resultsdb`, `greenwave`, `waiverdb`,
    /// `koschei` or `unknown`.
    pub source: String,
    pub kind: String,
    pub summary: String,
    pub details: String,
    /// Only ever an `http(s)` URL (or, for Pulp without a base, a server-relative API path).
    pub url: Option<String>,
    pub users: Vec<String>,
    pub packages: Vec<String>,
    pub agent: Option<String>,
    pub severity: u8,
    pub icon: String,
}

/// Renders a message with the first producer module that recognises it.
pub fn render(msg: &Message, ctx: &RenderContext) -> Rendered {
    let view = fedora_messaging(msg)
        .or_else(|| pulp::render(msg, ctx))
        .or_else(|| koji_messagebus::render(msg, ctx))
        .or_else(|| koji_protonmsg::render(msg, ctx))
        .unwrap_or_else(|| generic::render(msg));
    view.finish()
}

/// The fedora-messaging producers, chosen by the application word of the schema topic, or
/// of the schema header when the topic does not name one.
fn fedora_messaging(msg: &Message) -> Option<View> {
    let topic = fedmsg::schema_topic(&msg.topic);
    let app = topic.split('.').next().unwrap_or_default();
    match app {
        "anitya" => return Some(anitya::render(msg, topic)),
        "buildsys" => return Some(koji::render(msg, topic)),
        "bodhi" => return Some(bodhi::render(msg, topic)),
        "copr" => return Some(copr::render(msg, topic)),
        "hotness" => return Some(hotness::render(msg, topic)),
        "bugzilla" => return Some(bugzilla::render(msg, topic)),
        "git" => return Some(git::render(msg, topic)),
        "ci" => return Some(ci::render(msg, topic)),
        "resultsdb" | "greenwave" | "waiverdb" => return Some(gating::render(msg, topic)),
        "koschei" => return Some(koschei::render(msg, topic)),
        _ => {}
    }
    let schema = fedmsg::schema(msg)?;
    if let Some(topic) = anitya::topic_for_schema(&schema) {
        return Some(anitya::render(msg, &topic));
    }
    if let Some(topic) = koji::topic_for_schema(&schema) {
        return Some(koji::render(msg, topic));
    }
    if let Some(topic) = bodhi::topic_for_schema(&schema) {
        return Some(bodhi::render(msg, &topic));
    }
    if let Some(topic) = copr::topic_for_schema(&schema) {
        return Some(copr::render(msg, &topic));
    }
    if let Some(topic) = hotness::topic_for_schema(&schema) {
        return Some(hotness::render(msg, &topic));
    }
    if let Some(topic) = bugzilla::topic_for_schema(&schema, msg.json.as_ref()) {
        return Some(bugzilla::render(msg, &topic));
    }
    if let Some(topic) = git::topic_for_schema(&schema) {
        return Some(git::render(msg, &topic));
    }
    if let Some(topic) = koschei::topic_for_schema(&schema) {
        return Some(koschei::render(msg, &topic));
    }
    // CI Messages and the gating services' base-class messages say what they are only in
    // their topic.
    None
}

/// The longest user or package name kept: an AMQP field name cannot be longer, so no
/// fedora-messaging producer could have meant a longer one.
const NAME_MAX_BYTES: usize = 255;
/// The most users or packages one message is attributed to.
const NAMES_MAX: usize = 200;

/// What a producer module fills in; [`View::finish`] applies the rules every rendering
/// shares (bounded, neutralised summary; sorted unique names; only safe links).
#[derive(Debug)]
pub(crate) struct View {
    pub source: &'static str,
    pub kind: String,
    pub summary: String,
    pub details: text::Details,
    pub url: Option<String>,
    pub users: Vec<String>,
    pub packages: Vec<String>,
    pub agent: Option<String>,
    pub severity: u8,
    pub icon: &'static str,
}

impl View {
    pub(crate) fn new(source: &'static str, icon: &'static str, kind: String) -> View {
        View {
            source,
            kind,
            summary: String::new(),
            details: text::Details::new(),
            url: None,
            users: Vec::new(),
            packages: Vec::new(),
            agent: None,
            severity: crate::message::severity::INFO,
            icon,
        }
    }

    /// Adds a user when the name is a usable one.
    pub(crate) fn user(&mut self, name: Option<&str>) {
        if let Some(n) = name {
            self.users.push(n.to_owned());
        }
    }

    /// Adds a package when the name is a usable one.
    pub(crate) fn package(&mut self, name: Option<&str>) {
        if let Some(n) = name {
            self.packages.push(n.to_owned());
        }
    }

    /// Forgets who and what the message names, for messages whose headers do not earn it.
    pub(crate) fn withhold_attribution(&mut self) {
        self.users.clear();
        self.packages.clear();
        self.agent = None;
    }

    fn finish(self) -> Rendered {
        let url = self.url.filter(|u| {
            // Relative API paths (Pulp without a configured base) are the one exception.
            link::safe(u).is_some()
                || (u.starts_with('/') && !u.starts_with("//") && u.len() <= 512)
        });
        let mut details = self.details;
        // Written here, after every rule has had its say, so the details never show a link
        // the view withholds.
        details.opt("Link", url.as_deref());
        Rendered {
            source: self.source.to_owned(),
            kind: text::line(&self.kind, text::SUMMARY_MAX_CHARS),
            summary: text::line(&self.summary, text::SUMMARY_MAX_CHARS),
            details: details.into_string(),
            url,
            users: names(self.users),
            packages: names(self.packages),
            agent: self
                .agent
                .filter(|a| !a.is_empty() && a.len() <= NAME_MAX_BYTES),
            severity: self.severity,
            icon: self.icon.to_owned(),
        }
    }
}

/// Sorted, unique, non-empty and of plausible length; otherwise verbatim, so that a search
/// for the exact name finds the message.
fn names(mut v: Vec<String>) -> Vec<String> {
    v.retain(|n| !n.is_empty() && n.len() <= NAME_MAX_BYTES);
    v.sort_unstable();
    v.dedup();
    v.truncate(NAMES_MAX);
    v
}

#[cfg(test)]
mod tests;
