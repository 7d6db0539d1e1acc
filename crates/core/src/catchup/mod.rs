//! Catch-up: what the bus carried while Herald was not listening. A queue the broker keeps
//! (per install, durable, with an expiry and a length limit) covers a short absence by
//! itself; when the queue did not survive, or overflowed, the missing window is walked in
//! the bus archive (datagrepper) and every message goes through the live path, marked
//! back-filled.
//!
//! The pieces: [`archive`] is the polite HTTP client, [`walk`] the time cursor over a window,
//! [`job`] what is remembered across restarts (the last live message, how the last session
//! ended, the windows still to walk), [`fill`] one page through decode → rules → history, and
//! [`sleep`] hears the machine suspend and resume. The pipeline wires them to its sessions;
//! `herald backfill` uses them directly.

pub mod archive;
pub mod fill;
pub mod job;
pub mod sleep;
pub mod walk;

pub use archive::{Archive, Politeness, Query, SearchPage};
pub use fill::{judge, Filler, Page};
pub use job::{Absence, Counts, Job, Ledger, LiveMark, SessionMark};
pub use walk::Walk;

use crate::bus::topology::{Plan, OWN_EXCHANGE_PREFIX};
use crate::filter::Pattern;

/// What the archive can be asked for instead of everything in a window. datagrepper ANDs its
/// topic and category filters, so at most one of the two is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrow {
    /// Exact topics.
    pub topics: Vec<String>,
    /// datanommer categories: a topic's fourth word (`org.fedoraproject.prod.bodhi…`).
    pub categories: Vec<String>,
    /// The topic bindings a live delivery passes, checked on every archived row (the query
    /// can be wider); `None` where a binding tests no topic (a headers exchange).
    pub bound: Option<Vec<Pattern>>,
}

impl Narrow {
    /// Whether a live delivery with this topic could have reached the queue.
    pub fn admits(&self, topic: &str) -> bool {
        self.bound
            .as_ref()
            .is_none_or(|b| b.iter().any(|p| p.matches(topic)))
    }
}

/// How far the archive can narrow what `plan` delivers: exact topics when every binding
/// names one; else categories when every pattern fixes its fourth word (and no `#` comes
/// before it, which would move it); else nothing (a headers exchange, `#`), and the window is
/// fetched whole. Client-side rules check every row either way.
pub fn narrowing(plan: &Plan) -> Narrow {
    let keys: Vec<&str> = plan
        .bindings
        .iter()
        .filter(|b| !b.source.starts_with(OWN_EXCHANGE_PREFIX))
        .map(|b| b.routing_key.as_str())
        .collect();
    if keys.is_empty() || keys.iter().any(|k| k.is_empty()) {
        return Narrow::default();
    }
    let bound = Some(keys.iter().map(|k| Pattern::new(k)).collect());
    let wild = |w: &str| w == "*" || w == "#";
    let mut n = Narrow {
        bound,
        ..Narrow::default()
    };
    if keys.iter().all(|k| !k.split('.').any(wild)) {
        for k in keys {
            if !n.topics.iter().any(|t| t == k) {
                n.topics.push(k.to_owned());
            }
        }
        return n;
    }
    for k in keys {
        let words: Vec<&str> = k.split('.').collect();
        let fixed = words.len() > 3
            && !words[..3].contains(&"#")
            && !wild(words[3])
            && !k.contains("VirtualTopic");
        if !fixed {
            n.categories.clear();
            return n;
        }
        if !n.categories.iter().any(|c| c == words[3]) {
            n.categories.push(words[3].to_owned());
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::topology::{Destination, PlannedBinding};

    fn binding(source: &str, key: &str) -> PlannedBinding {
        PlannedBinding {
            source: source.to_owned(),
            destination: Destination::Queue("q".to_owned()),
            routing_key: key.to_owned(),
            arguments: Default::default(),
        }
    }

    #[test]
    fn patterns_narrow_by_category_when_their_fourth_word_is_fixed() {
        let plan = |keys: &[&str]| Plan {
            bindings: keys.iter().map(|k| binding("amq.topic", k)).collect(),
            ..Plan::default()
        };
        let n = narrowing(&plan(&[
            "org.fedoraproject.prod.bodhi.update.#",
            "org.fedoraproject.*.copr.build.end",
            "org.fedoraproject.prod.bodhi.update.comment",
        ]));
        assert_eq!(n.categories, ["bodhi", "copr"]);
        assert!(n.topics.is_empty(), "never both: the archive ANDs them");
        assert!(n.admits("org.fedoraproject.prod.bodhi.update.request.stable"));
        assert!(
            !n.admits("org.fedoraproject.prod.bodhi.buildroot_override.tag"),
            "the category is wider than the bindings; rows are held to the bindings"
        );
        for wide in [
            "#",
            "org.#.bodhi.update",
            "org.fedoraproject.prod.*.x",
            "a.b.c",
        ] {
            let n = narrowing(&plan(&[wide, "org.fedoraproject.prod.bodhi.#"]));
            assert!(n.topics.is_empty() && n.categories.is_empty(), "{wide}");
        }
    }

    #[test]
    fn only_exact_topics_narrow_the_archive() {
        let mut plan = Plan {
            bindings: vec![
                binding(
                    "amq.topic",
                    "org.fedoraproject.prod.buildsys.build.state.change",
                ),
                binding("amq.topic", "org.fedoraproject.prod.bodhi.update.comment"),
                binding("herald.x1", ""),
            ],
            ..Plan::default()
        };
        assert_eq!(
            narrowing(&plan).topics.len(),
            2,
            "Herald's own header hops do not widen it"
        );
        plan.bindings
            .push(binding("amq.topic", "org.fedoraproject.prod.copr.#"));
        assert_eq!(narrowing(&plan).topics, Vec::<String>::new());
        assert_eq!(narrowing(&plan).categories, ["buildsys", "bodhi", "copr"]);
        plan.bindings = vec![binding("koji", "")];
        assert_eq!(
            narrowing(&plan),
            Narrow::default(),
            "a headers exchange has no topics"
        );
        assert_eq!(narrowing(&Plan::default()), Narrow::default());
    }
}
